"""Media fingerprints: render, export and re-plans refuse a song or clip that changed since
planning (exit 3, the file named), unless --allow-changed-media; old plans still work."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import musync
from musync.cli import main
from musync.errors import MediaChangedError, MediaError
from musync.mediacheck import check_media, quick_hash
from musync.planfile import load_plan
from musync.types import PlanClip


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A 6 s song, three real clips and a plan of them, made once."""
    from musync.testing import make_clip_files, make_song

    root = tmp_path_factory.mktemp("made")
    make_song(bpm=120, form=[("verse", 2), ("chorus", 1)], seed=2).write(root / "song.wav")
    make_clip_files(root / "clips", 3, seconds=3.0, size=(160, 90), seed=2)
    p = musync.plan(musync.analyze(root / "song.wav"), musync.scan_clips([root / "clips"], progress="none"),
                    size=(160, 90))
    musync.save_plan(p, root / "plan.json")
    return root


@pytest.fixture
def media(made, tmp_path):
    """A private copy of the song, the clips and the plan (pointing at the copies)."""
    root = tmp_path / "m"
    shutil.copytree(made, root)
    text = (root / "plan.json").read_text().replace(str(made), str(root))
    (root / "plan.json").write_text(text)
    plan = load_plan(root / "plan.json")
    used = sorted({s.source for s in plan.shots})
    return {"root": root, "plan": root / "plan.json", "song": root / "song.wav", "used": used,
            "unused": [str(p) for p in sorted((root / "clips").iterdir()) if str(p) not in used]}


def run(args, capsys):
    code = main(args)
    return code, capsys.readouterr().err


def test_the_plan_records_fingerprints(media):
    d = json.loads(media["plan"].read_text())
    for c in d["clips"]:
        p = Path(c["path"])
        assert c["file_size"] == p.stat().st_size
        assert c["content_hash"] == quick_hash(p) and c["content_hash"].startswith("q1:")
        assert c["frame_count"] == 90
    plan = load_plan(media["plan"])
    assert check_media(plan) == []
    pc = plan.clips[0]
    assert PlanClip.from_dict(pc.to_dict()) == pc


def test_quick_hash_sees_a_byte_changed_in_its_samples_and_the_size(tmp_path):
    f = tmp_path / "big.bin"
    data = bytearray(range(256)) * 8192           # 2 MiB
    f.write_bytes(bytes(data))
    h0 = quick_hash(f)
    for pos in (0, len(data) - 1, 64 * 1024 + (len(data) - 2 * 64 * 1024 - 16 * 1024) // 7):
        changed = bytearray(data)
        changed[pos] ^= 0xFF
        f.write_bytes(bytes(changed))
        assert quick_hash(f) != h0, pos
    f.write_bytes(bytes(data) + b"\0")
    assert quick_hash(f) != h0
    f.write_bytes(bytes(data))
    assert quick_hash(f) == h0


def test_a_clip_replaced_by_another_file_of_the_same_name(media, tmp_path, capsys):
    victim = media["used"][0]
    other = next(p for p in media["used"][1:] + media["unused"] if p != victim)
    shutil.copyfile(other, victim)
    for args in (["render", str(media["plan"]), "-o", str(tmp_path / "d.mp4"), "--progress", "none"],
                 ["export", str(media["plan"]), "-o", str(tmp_path / "e.otio")],
                 ["plan", "--replan", str(media["plan"]), "-o", str(tmp_path / "p2.json"), "--progress", "none"]):
        code, err = run(args, capsys)
        assert code == 3, (args[0], err)
        line = err.strip().splitlines()[-1]
        assert victim in line and "changed since the plan was made" in line and "--allow-changed-media" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    # with the flag: a warning naming the file, and the work is done
    code, err = run(["render", str(media["plan"]), "-o", str(tmp_path / "d.mp4"), "--progress", "none",
                     "--allow-changed-media"], capsys)
    assert code == 0 and (tmp_path / "d.mp4").exists(), err
    assert victim in err and "used anyway" in err
    code, err = run(["export", str(media["plan"]), "-o", str(tmp_path / "e.otio"), "--allow-changed-media"], capsys)
    assert code == 0 and victim in err, err
    code, err = run(["plan", "--replan", str(media["plan"]), "-o", str(tmp_path / "p2.json"), "--progress", "none",
                     "--allow-changed-media"], capsys)
    assert code == 0, err
    new = load_plan(tmp_path / "p2.json")
    assert any(victim in w for w in new.warnings)
    assert check_media(new) == []                  # the new plan describes the files as they are


def test_a_truncated_clip(media, tmp_path, capsys):
    victim = Path(media["used"][0])
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    code, err = run(["export", str(media["plan"]), "-o", str(tmp_path / "e.otio")], capsys)
    assert code == 3 and str(victim) in err and "truncated" in err, err


def test_a_clip_cut_shorter_and_reencoded(media, tmp_path, capsys):
    from musync.media import run_ffmpeg

    victim = Path(media["used"][0])
    short = tmp_path / "short.mp4"
    run_ffmpeg(["-y", "-i", str(victim), "-t", "1.5", "-c:v", "libx264", "-preset", "ultrafast", str(short)],
               what="cutting a clip", capture=True)
    shutil.copyfile(short, victim)
    with pytest.raises(MediaChangedError) as exc:
        musync.render(media["plan"], tmp_path / "d.mp4", progress="none")
    assert exc.value.path == str(victim) and "now 1.50 s, 45 frames, planned 3.00 s, 90 frames" in str(exc.value)
    assert isinstance(exc.value, MediaError) and exc.value.exit_code == 3
    assert not (tmp_path / "d.mp4").exists()


def test_an_edited_song(media, tmp_path, capsys):
    from musync.testing import make_song

    make_song(bpm=100, form=[("verse", 2)], seed=9).write(media["song"])      # shorter, other content
    for args in (["render", str(media["plan"]), "-o", str(tmp_path / "d.mp4"), "--progress", "none"],
                 ["export", str(media["plan"]), "-o", str(tmp_path / "e.otio")],
                 ["plan", "--replan", str(media["plan"]), "-o", str(tmp_path / "p2.json"), "--progress", "none"]):
        code, err = run(args, capsys)
        line = err.strip().splitlines()[-1]
        assert code == 3 and str(media["song"]) in line and "song has changed" in line, (args[0], err)
    code, err = run(["export", str(media["plan"]), "-o", str(tmp_path / "e.otio"), "--allow-changed-media"], capsys)
    assert code == 0 and "song has changed" in err, err
    with pytest.warns(UserWarning, match="song has changed"):
        musync.render(media["plan"], tmp_path / "d.mp4", progress="none", allow_changed_media=True)


def test_library_replan_and_review_refuse_a_changed_clip(media, tmp_path):
    from musync.review import ReviewSession

    victim = media["used"][0]
    other = next(p for p in media["used"][1:] + media["unused"] if p != victim)
    plan = load_plan(media["plan"])
    analysis = musync.analyze(media["song"])
    shutil.copyfile(other, victim)
    clips = musync.scan_clips([media["root"] / "clips"], progress="none")
    with pytest.raises(MediaChangedError, match="changed since the plan was made"):
        musync.replan(plan, analysis, clips)
    new = musync.replan(plan, analysis, clips, allow_changed_media=True)
    assert any(victim in w and "re-planned anyway" not in w for w in new.warnings)
    s = ReviewSession(media["plan"], plan, analysis=analysis, clips=clips)
    try:
        with pytest.raises(MediaChangedError):
            s.replan()
        from starlette.testclient import TestClient

        from musync.review import make_app

        with TestClient(make_app(s, "tok"), base_url="http://127.0.0.1:8765") as client:
            r = client.post("/api/replan", headers={"X-Musync-Token": "tok"})
        assert r.status_code == 400 and victim in r.json()["error"] and "\n" not in r.json()["error"]
        s.allow_changed_media = True
        assert any(victim in w for w in s.replan().warnings)
    finally:
        s.close()
    # the flag given to open() (the CLI's --allow-changed-media) reaches the session's re-plans
    for allow in (False, True):
        s = ReviewSession.open(media["plan"], analysis=analysis, clips=clips, allow_changed_media=allow)
        try:
            assert s.allow_changed_media is allow
            if allow:
                assert any(victim in w for w in s.replan().warnings)
            else:
                with pytest.raises(MediaChangedError):
                    s.replan()
        finally:
            s.close()


def test_an_old_plan_without_fingerprints_still_works(media, tmp_path, capsys):
    d = json.loads(media["plan"].read_text())
    for c in d["clips"]:
        for k in ("file_size", "frame_count", "content_hash"):
            c.pop(k)
    (tmp_path / "old.json").write_text(json.dumps(d))
    plan = load_plan(tmp_path / "old.json")
    assert all(c.file_size is None for c in plan.clips)
    code, err = run(["render", str(tmp_path / "old.json"), "-o", str(tmp_path / "d.mp4"), "--progress", "none"],
                    capsys)
    assert code == 0 and "records no fingerprints" in err, err
    # the JSON of an old plan is written back as it was read
    assert "content_hash" not in musync.planfile.plan_to_json(plan)


def test_a_clip_that_was_not_there_when_planning_is_not_checked(tmp_path):
    from musync.testing import make_song, synthetic_clip_infos

    make_song(bpm=120, form=[("verse", 2)], seed=1).write(tmp_path / "s.wav")
    p = musync.plan(musync.analyze(tmp_path / "s.wav"), synthetic_clip_infos(4, seed=1))
    assert all(c.content_hash == "" and c.file_size == 0 for c in p.clips)
    assert check_media(p) == []


def _make_paths_relative(media) -> Path:
    """Rewrite the plan's song and clip paths relative to its folder; return the folder."""
    root = media["root"]
    d = json.loads(media["plan"].read_text())
    for c in d["clips"]:
        c["path"] = str(Path(c["path"]).relative_to(root))
    for s in d["shots"]:
        s["source"] = str(Path(s["source"]).relative_to(root))
    d["audio"]["path"] = "song.wav"
    media["plan"].write_text(json.dumps(d))
    return root


def test_export_from_another_folder_checks_relative_clip_paths(media, capsys, monkeypatch, tmp_path):
    """A plan with paths relative to its folder, exported from elsewhere: the clips are found
    beside the plan (as render finds them) and a changed one is still refused."""
    root = _make_paths_relative(media)
    victim = root / Path(media["used"][0]).relative_to(root)
    victim.write_bytes(victim.read_bytes()[:-100])
    monkeypatch.chdir(tmp_path)
    code, err = run(["export", str(media["plan"]), "-o", str(tmp_path / "e.otio")], capsys)
    assert code == 3 and victim.name in err and "changed since the plan was made" in err


def test_stamps_hash_a_file_once_until_it_is_written_again(tmp_path, monkeypatch):
    import os

    import musync.mediacheck as mc
    from musync.mediacheck import stamp_clips
    from musync.types import PlanClip

    f = tmp_path / "a.mp4"
    f.write_bytes(os.urandom(300_000))
    calls = []
    real = mc.quick_hash
    monkeypatch.setattr(mc, "quick_hash", lambda p: calls.append(p) or real(p))
    pc = PlanClip(str(f), 1.0, 30, (64, 64))
    first = stamp_clips([pc])[0]
    again = stamp_clips([pc])[0]
    assert first.content_hash == again.content_hash == real(f) and len(calls) == 1
    # written again (other bytes, same size): hashed again, and the stamp says so
    f.write_bytes(os.urandom(300_000))
    os.utime(f, ns=(os.stat(f).st_atime_ns, os.stat(f).st_mtime_ns + 1_000_000))
    third = stamp_clips([pc])[0]
    assert len(calls) == 2 and third.content_hash == real(f) != first.content_hash


def test_an_unreadable_clip_is_a_media_error_naming_it(media, monkeypatch):
    import musync.mediacheck as mc

    def refuse(path, *a, **k):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(mc, "quick_hash", refuse)
    with pytest.raises(MediaError, match="cannot be read") as e:
        check_media(load_plan(media["plan"]))
    assert not isinstance(e.value, MediaChangedError)


@pytest.mark.parametrize("song,says", [("missing.wav", "is missing"), ("/dev/zero", "is not a regular file")])
def test_export_refuses_a_plan_whose_song_is_unusable(media, capsys, tmp_path, song, says):
    d = json.loads(media["plan"].read_text())
    d["audio"]["path"] = str(media["root"] / song) if not song.startswith("/") else song
    media["plan"].write_text(json.dumps(d))
    out = tmp_path / "e.otio"
    code, err = run(["export", str(media["plan"]), "-o", str(out)], capsys)
    assert code == 3 and says in err and Path(song).name in err
    assert not out.exists()


def test_export_from_another_folder_of_a_plan_with_relative_paths(media, capsys, monkeypatch, tmp_path):
    """Unchanged media, paths relative to the plan's folder, exported from elsewhere: written."""
    _make_paths_relative(media)
    monkeypatch.chdir(tmp_path)
    code, err = run(["export", str(media["plan"]), "-o", str(tmp_path / "e.otio")], capsys)
    assert code == 0, err
    assert (tmp_path / "e.otio").is_file()
