"""The review page's web server: Starlette routes over a :class:`ReviewSession`, run by uvicorn.

Public: :func:`make_app` (the ASGI app, for the test client or any ASGI server),
:func:`serve` (bind 127.0.0.1, print the URL, open the browser, run until Ctrl-C),
:func:`song_payload` (what the page draws on the time axis).

Security: the server binds to 127.0.0.1 only; every ``/api/`` call and the page itself need the
per-run token (``?token=`` or the ``X-Musync-Token`` header); the Host header must name
127.0.0.1 or localhost (no DNS rebinding); a POST from another origin is refused.

The JSON API (all under ``/api/``, all need the token; every call that changes the plan returns
the new plan JSON, exactly as ``musync plan`` writes it):

==========================  ===================================================================
``GET  plan``               the current plan
``GET  state``              dirty, undo/redo labels, renders, warnings, variant names
``GET  song``               the song on the plan's time axis: waveform, beats, bars, sections,
                            energy, climax (seconds)
``GET  clips``              the clip library: ``[{"id", "path", "name", "missing", "record"}]``
                            (``record``: the scan's clip record without its per-frame arrays)
``GET  thumb?clip=&frame=`` JPEG of source frame ``frame`` of library clip ``clip`` (``&h=``
                            its height, 32 to 720 pixels, default 108)
``GET  alternatives?shot=`` clips that could fill a shot, best first (see ``edit.alternatives``)
``POST lock``               ``{"shots": [i, ...], "locked": true|false}``
``POST swap``               ``{"shot": i, "source": path, "source_in": n (optional)}``
``POST inpoint``            ``{"shot": i, "source_in": n}``
``POST nudge``              ``{"shot": i, "beats": -1|1}``: move the cut at the start of shot i
``POST replan``             re-plan around the locks
``POST undo`` / ``redo``
``POST save``               ``{"path": optional}`` -> ``{"path", "previous"}``
``GET  variants``           ``[{"name", "plan"}]``; ``POST variants`` ``{"n": 3}`` makes new ones
``POST adopt``              ``{"variant": i}``: make a variant the current plan
``GET  diff?against=``      ``saved`` (default), ``opened`` or ``variant-<i>``
``POST render``             ``{"kind": "preview"|"draft"}``: render the current plan
``GET  media/{kind}``       the finished render (byte ranges for seeking)
``GET  audio``              the song file
==========================  ===================================================================

Errors come back as ``{"error": "one line"}`` with status 400 (bad request or an edit that
cannot be made), 403 (token) or 404.
"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import threading
import webbrowser
from pathlib import Path

from ..errors import MusyncError, ParameterError
from ..planfile import plan_to_json
from .pictures import THUMB_HEIGHT
from .session import MEDIA_KINDS, ReviewSession

__all__ = ["make_app", "serve", "song_payload", "STATIC"]

#: The page's files (no build step).
STATIC = Path(__file__).with_name("static")

_ALLOWED_HOSTS = ("127.0.0.1", "localhost")


def _thin(values, limit: int) -> list[float]:
    step = max(1, -(-len(values) // limit))
    return [round(float(v), 4) for v in list(values)[::step]]


def song_payload(session: ReviewSession, *, bins: int = 3000) -> dict:
    """The song as the page draws it, in seconds. Without an analysis, the plan's markers."""
    from .pictures import waveform

    p = session.plan
    fps = p.fps
    out = {"name": Path(p.audio.path).name, "path": p.audio.path, "fps": f"{fps.numerator}/{fps.denominator}",
           "audio": Path(p.audio.path).is_file(),
           "duration": p.duration_frames / float(fps), "waveform": [], "energy": {"times": [], "values": []}}
    a = session.analysis
    if a is not None:
        out.update(tempo=round(a.tempo, 2), beats_per_bar=a.beats_per_bar, metre=a.metre,
                   beats=_thin(a.beats, 100000), downbeats=_thin(a.downbeats, 100000),
                   sections=[s.to_dict() for s in a.sections], climax=a.climax,
                   energy={"times": _thin(a.energy_times, 4000), "values": _thin(a.energy, 4000)},
                   confidence=round(a.confidence, 3), fallback=bool(a.fallback))
    else:
        m = p.markers
        f = float(fps)
        out.update(tempo=None, beats_per_bar=None, metre=None, beats=[b / f for b in m.get("beats", [])],
                   downbeats=[b / f for b in m.get("downbeats", [])],
                   sections=[{"start": s["frame"] / f, "end": s["end"] / f, "label": s.get("label", ""),
                              "kind": s.get("kind", ""), "energy": None} for s in m.get("sections", [])],
                   climax=(m["climax"] / f) if m.get("climax") is not None else None)
    try:
        out["waveform"] = _thin(waveform(p.audio.path, bins=bins, sha256=p.audio.sha256), bins)
    except (MusyncError, OSError):
        pass
    return out


#: per-frame arrays of a clip record the page does not draw (kept out of ``GET /api/clips``)
_HEAVY = ("motion_curve", "roi", "prints", "fingerprint")


def _clip_list(session: ReviewSession) -> list[dict]:
    out = []
    for i, path in enumerate(session.library):
        rec = {k: v for k, v in session.clip_record(path).items() if k not in _HEAVY}
        out.append({"id": i, "path": path, "name": Path(path).name, "missing": not Path(path).is_file(),
                    "record": rec})
    return out


def make_app(session: ReviewSession, token: str | None = None, *, port: int | None = None):
    """The Starlette app serving the page and the JSON API for ``session``.

    ``token`` guards every call (a new random one when None: read it back as ``app.state.token``).
    """
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    token = token or secrets.token_urlsafe(24)

    def plan_response(plan) -> Response:
        return Response(plan_to_json(plan), media_type="application/json")

    def error(msg: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": msg}, status_code=status)

    async def body(request: Request) -> dict:
        try:
            d = await request.json()
        except ValueError:
            raise ParameterError("the request body must be JSON") from None
        if not isinstance(d, dict):
            raise ParameterError("the request body must be a JSON object")
        return d

    def need_int(d: dict, key: str) -> int:
        v = d.get(key)
        if not isinstance(v, int) or isinstance(v, bool):
            raise ParameterError(f"'{key}' must be an integer")
        return v

    class Guard:
        """Token and origin check for the page and every API call (an ASGI middleware)."""

        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] != "http" or scope["path"].startswith("/static/") or scope["path"] == "/favicon.ico":
                return await self.app(scope, receive, send)
            req = Request(scope)
            given = req.headers.get("x-musync-token") or req.query_params.get("token") or ""
            if not secrets.compare_digest(given.encode(), token.encode()):
                msg = "missing or wrong token: open the URL that `musync review` printed"
                if scope["path"].startswith("/api/"):
                    resp = error(msg, 403)
                else:
                    resp = Response(f"<!doctype html><title>musync review</title><link rel=icon href='data:,'>"
                                    f"<p>{msg}</p>",
                                    status_code=403, media_type="text/html")
                return await resp(scope, receive, send)
            origin = req.headers.get("origin")
            if req.method != "GET" and origin:
                host = origin.split("://", 1)[-1].split(":")[0]
                if host not in _ALLOWED_HOSTS:
                    return await error("requests from other sites are refused", 403)(scope, receive, send)
            return await self.app(scope, receive, send)

    async def index(request: Request):
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def favicon(request: Request):
        return Response(status_code=204)

    async def get_plan(request: Request):
        return plan_response(session.plan)

    async def get_state(request: Request):
        return JSONResponse(session.state())

    song_cache: dict = {}

    def get_song_sync():
        if "v" not in song_cache:
            song_cache["v"] = song_payload(session)
        return song_cache["v"]

    async def get_song(request: Request):
        from starlette.concurrency import run_in_threadpool

        return JSONResponse(await run_in_threadpool(get_song_sync))

    async def get_clips(request: Request):
        return JSONResponse(_clip_list(session))

    def thumb_sync(clip: int, frame: int, height: int = 0) -> bytes:
        from .pictures import thumbnail

        lib = session.library
        if not 0 <= clip < len(lib):
            raise ParameterError(f"clip {clip} is not in the library")
        c = session.plan_clip(lib[clip])
        if c is None:
            raise ParameterError(f"clip {clip} is not in the library")
        t = frame / float(session.plan.fps)
        return thumbnail(c.path, t, height=height or THUMB_HEIGHT, display=c.size, still=c.is_still)

    async def get_thumb(request: Request):
        from starlette.concurrency import run_in_threadpool

        try:
            clip = int(request.query_params.get("clip", ""))
            frame = max(0, int(request.query_params.get("frame", "0")))
            height = int(request.query_params.get("h", THUMB_HEIGHT))
        except ValueError:
            return error("thumb needs integer 'clip', 'frame' and 'h'")
        if not 32 <= height <= 720:
            return error("thumb height 'h' must be 32 to 720 pixels")
        try:
            data = await run_in_threadpool(thumb_sync, clip, frame, height)
        except MusyncError as exc:
            return error(str(exc), 404)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})

    async def get_alternatives(request: Request):
        try:
            shot = int(request.query_params.get("shot", ""))
        except ValueError:
            return error("alternatives needs an integer 'shot'")
        lib = {p: i for i, p in enumerate(session.library)}
        alts = session.alternatives(shot)
        for a in alts:
            a["id"] = lib.get(a["path"])
        return JSONResponse(alts)

    async def post_lock(request: Request):
        d = await body(request)
        shots = d.get("shots")
        if not isinstance(shots, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in shots):
            raise ParameterError("'shots' must be a list of shot indices")
        locked = d.get("locked", True)
        if not isinstance(locked, bool):
            raise ParameterError("'locked' must be true or false")
        return plan_response(session.lock(shots, locked))

    async def post_swap(request: Request):
        d = await body(request)
        src = d.get("source")
        if isinstance(d.get("clip"), int) and not isinstance(d.get("clip"), bool) and not src:
            lib = session.library
            if not 0 <= d["clip"] < len(lib):
                raise ParameterError(f"clip {d['clip']} is not in the library")
            src = lib[d["clip"]]
        if not isinstance(src, str):
            raise ParameterError("'source' must be a clip path (or 'clip' a library index)")
        a = d.get("source_in")
        if a is not None and (not isinstance(a, int) or isinstance(a, bool)):
            raise ParameterError("'source_in' must be an integer frame")
        return plan_response(session.swap(need_int(d, "shot"), src, a))

    async def post_inpoint(request: Request):
        d = await body(request)
        return plan_response(session.set_in_point(need_int(d, "shot"), need_int(d, "source_in")))

    async def post_nudge(request: Request):
        d = await body(request)
        return plan_response(session.nudge(need_int(d, "shot"), need_int(d, "beats")))

    async def post_replan(request: Request):
        from starlette.concurrency import run_in_threadpool

        return plan_response(await run_in_threadpool(session.replan))

    async def post_undo(request: Request):
        return plan_response(session.undo())

    async def post_redo(request: Request):
        return plan_response(session.redo())

    async def post_save(request: Request):
        raw = await request.body()
        try:
            d = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise ParameterError("the request body must be JSON") from None
        if not isinstance(d, dict):
            raise ParameterError("the request body must be a JSON object")
        if d.get("path") is not None and not isinstance(d.get("path"), str):
            raise ParameterError("'path' must be a file name")
        return JSONResponse(session.save(d.get("path")))

    def variants_payload() -> list[dict]:
        return [{"name": n, "plan": p.to_dict()} for n, p in session.variant_list()]

    async def get_variants(request: Request):
        return JSONResponse(variants_payload())

    async def post_variants(request: Request):
        from starlette.concurrency import run_in_threadpool

        d = await body(request)
        await run_in_threadpool(session.make_variants, need_int(d, "n"))
        return JSONResponse(variants_payload())

    async def post_adopt(request: Request):
        d = await body(request)
        return plan_response(session.adopt(need_int(d, "variant")))

    async def get_diff(request: Request):
        return JSONResponse(session.diff(request.query_params.get("against", "saved")))

    async def post_render(request: Request):
        d = await body(request)
        return JSONResponse(session.render(str(d.get("kind", ""))))

    async def get_media(request: Request):
        kind = request.path_params["kind"]
        if kind not in MEDIA_KINDS:
            return error(f"no such render: {kind}", 404)
        f = session.media_file(kind)
        if f is None:
            return error(f"no {kind} yet: ask for one with POST /api/render", 404)
        return FileResponse(f, media_type="video/mp4")

    async def get_audio(request: Request):
        f = Path(session.plan.audio.path)
        if not f.is_file():
            return error("the song file was not found", 404)
        return FileResponse(f)

    async def on_error(request: Request, exc: MusyncError):
        return error(str(exc), 400)

    routes = [
        Route("/", index),
        Route("/favicon.ico", favicon),
        Route("/api/plan", get_plan),
        Route("/api/state", get_state),
        Route("/api/song", get_song),
        Route("/api/clips", get_clips),
        Route("/api/thumb", get_thumb),
        Route("/api/alternatives", get_alternatives),
        Route("/api/lock", post_lock, methods=["POST"]),
        Route("/api/swap", post_swap, methods=["POST"]),
        Route("/api/inpoint", post_inpoint, methods=["POST"]),
        Route("/api/nudge", post_nudge, methods=["POST"]),
        Route("/api/replan", post_replan, methods=["POST"]),
        Route("/api/undo", post_undo, methods=["POST"]),
        Route("/api/redo", post_redo, methods=["POST"]),
        Route("/api/save", post_save, methods=["POST"]),
        Route("/api/variants", get_variants, methods=["GET"]),
        Route("/api/variants", post_variants, methods=["POST"]),
        Route("/api/adopt", post_adopt, methods=["POST"]),
        Route("/api/diff", get_diff),
        Route("/api/render", post_render, methods=["POST"]),
        Route("/api/media/{kind}", get_media),
        Route("/api/audio", get_audio),
        Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
    ]
    hosts = list(_ALLOWED_HOSTS)
    app = Starlette(routes=routes, exception_handlers={MusyncError: on_error},
                    middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts), Middleware(Guard)])
    app.state.token = token
    app.state.session = session
    app.state.prepare_song = get_song_sync
    return app


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", int(port)))
    except OSError as exc:
        sock.close()
        raise ParameterError(f"port {port} on 127.0.0.1 is not free ({exc.strerror}); "
                             "pick another with --port, or leave it out for a free one") from None
    return sock


def warm_up(session: ReviewSession, server=None, app=None) -> None:
    """Prepare what the page asks for first: the song's waveform, then the current plan's shot
    thumbnails (both cached), so the page draws at once; stops early when the server stops."""
    from .pictures import thumbnail

    if app is not None:
        try:
            app.state.prepare_song()
        except (MusyncError, OSError):
            pass
    plan = session.plan
    for s in plan.shots:
        if server is not None and server.should_exit:
            return
        c = session.plan_clip(s.source)
        if c is None or not Path(c.path).is_file():
            continue
        frame = max(0, (s.source_in + s.source_out - 1) // 2)
        try:
            thumbnail(c.path, frame / float(plan.fps), display=c.size, still=c.is_still)
        except MusyncError:
            continue


def serve(session: ReviewSession, *, port: int = 0, open_browser: bool = True, echo=print,
          token: str | None = None) -> None:
    """Serve ``session`` on 127.0.0.1 (a free port when ``port`` is 0) until Ctrl-C or SIGTERM;
    prints the URL, opens it in the browser unless told not to, and closes the session at the
    end (unsaved changes go to the recovery file, which is named)."""
    import uvicorn

    try:
        sock = _bind(port)
    except BaseException:
        session.close()                           # the session is closed whatever ends serve()
        raise
    old = None
    try:
        port = sock.getsockname()[1]
        app = make_app(session, token, port=port)
        url = f"http://127.0.0.1:{port}/?token={app.state.token}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        server = uvicorn.Server(config)

        def announce():
            while not server.started and not server.should_exit:
                threading.Event().wait(0.05)
            if server.started:
                echo(f"review: {url}")
                echo("press Ctrl-C to stop (unsaved changes are kept, never dropped)")
                if open_browser:
                    try:
                        webbrowser.open(url)
                    except Exception:
                        pass

        threading.Thread(target=announce, daemon=True).start()
        threading.Thread(target=warm_up, args=(session, server, app), daemon=True).start()

        def stop(signum, frame):
            raise KeyboardInterrupt

        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again: let that
        # end up here (not in the default SIGTERM handler, which would skip the session's cleanup)
        if threading.current_thread() is threading.main_thread():
            old = signal.signal(signal.SIGTERM, stop)
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass
    finally:
        sock.close()
        if old is not None:
            signal.signal(signal.SIGTERM, old)
        rec = session.close()
        if rec is not None:
            echo(f"unsaved changes were written to {rec}; open them with `musync review {rec}`")
        echo("review stopped")
