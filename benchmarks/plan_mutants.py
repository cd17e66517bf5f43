"""The planner's tests against deliberate bugs: each bug is written into the code, the planner
tests run, the code is restored. Every bug must make a test fail ("CAUGHT").

Usage::

    python benchmarks/plan_mutants.py [NAME-FRAGMENT ...]

Runs the tests with the ``pytest`` next to the running Python, in a separate numba cache folder
(``.cache/mutants`` under the checkout). Takes a few minutes (one planner test run per bug).
"""
import os
import subprocess
import sys
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
M = [
 ("shortest-shot off-by-one (kernel: the DP and the count repair)", "musync/planner/_kernels.py", "if d < min_len or d > max_len:\n        v -= 1e3", "if d <= min_len or d > max_len:\n        v -= 1e3"),
 ("shortest-shot off-by-one (limits)", "musync/planner/cuts.py", "mn = max(1, to_frame(settings.min_shot, settings.fps))", "mn = max(1, to_frame(settings.min_shot, settings.fps) + 1)"),
 ("truncating shot limits", "musync/planner/cuts.py", "mn = max(1, to_frame(settings.min_shot, settings.fps))", "mn = max(1, int(settings.min_shot * float(settings.fps)))"),
 ("truncating peak frames", "musync/planner/units.py", "peak_f = to_frames(np.concatenate(peak_t), fps)", "peak_f = (np.concatenate(peak_t) * float(fps)).astype(np.int64)"),
 ("truncating beat frames", "musync/planner/music.py", "    beat_frames = to_frames(beats, fps)\n", "    beat_frames = (beats * float(fps)).astype(np.int64)\n"),
 ("anticipation one frame short", "musync/planner/cuts.py", "out.append(c if c in keep else max(out[-1] + 1, c - n_frames))", "out.append(c if c in keep else max(out[-1] + 1, c - n_frames + 1))"),
 ("in-point peak sign flipped", "musync/planner/assign.py", "        a = pf - accent\n", "        a = pf + accent\n"),
 ("same file twice in a row allowed", "musync/planner/assign.py", "SPACING = 1\n", "SPACING = 0\n"),
 ("forced section cuts removed", "musync/planner/candidates.py", "    for sec in analysis.sections[1:]:\n        forced_cuts", "    for sec in analysis.sections[1:1]:\n        forced_cuts"),
 ("adjacent-repeat counter broken", "musync/planner/metrics.py", "            adjacent += 1", "            adjacent += 0"),
 ("length penalty of the cut DP off", "musync/planner/_kernels.py", "v = sc - lam * r0 * r0", "v = sc - 0.0 * r0 * r0"),
 ("loudness sign flipped in the pace", "musync/planner/pace.py", "    loud = grid.rel_loudness_at(times + ahead)", "    loud = 1.0 - grid.rel_loudness_at(times + ahead)"),
 ("pace ignores the loudness", "musync/planner/pace.py", "LOUD_WEIGHT = 1.0\n", "LOUD_WEIGHT = 0.0\n"),
 ("loudness bonus sign flipped", "musync/planner/candidates.py", "np.maximum(er - usual, 0.0)", "np.maximum(usual - er, 0.0)"),
 ("cut-rate controller sign flipped", "musync/planner/cuts.py", "bonus + gain * (wanted - made)", "bonus - gain * (wanted - made)"),
 ("loudness level only (no rank)", "musync/planner/music.py", "    return 0.5 * _ranks(db) + 0.5 * value", "    return value"),
 ("loudness curve not averaged", "musync/analysis/energy.py", "    return np.where(counts > 0, sums / np.maximum(counts, 1), near)", "    return near"),
 ("assignment look-ahead off", "musync/planner/_kernels.py", "            if only >= 0:", "            if only >= 0 and False:"),
 ("build ignores the loudness inside its parts", "musync/planner/pace.py", "BUILD_SWING = 0.6\n", "BUILD_SWING = 0.0\n"),
 ("uncertain grid: no beats in loud passages", "musync/planner/candidates.py", "(er[k] >= LOUD_BEATS or ramp[k])", "(er[k] >= 9.0 or ramp[k])"),
 ("uncertain grid: no beats in builds", "musync/planner/candidates.py", "(er[k] >= LOUD_BEATS or ramp[k])", "(er[k] >= LOUD_BEATS or False)"),
 ("uncertain grid: a bar at the fastest", "musync/planner/__init__.py", "LOW_CONF_INTENSE = 2.0\n", "LOW_CONF_INTENSE = 4.0\n"),
 ("uncertain grid: one-beat flashes", "musync/planner/__init__.py", "LOW_CONF_SHORTEST = 1.9\n", "LOW_CONF_SHORTEST = 0.0\n"),
 ("climax hero not held against its lead-in", "musync/planner/__init__.py", "heroes=_heroes(grid, cands, eff),", "heroes=(),"),
 ("hero held at 1x its lead-in", "musync/planner/cuts.py", "HERO_CONTRAST = 2.0\n", "HERO_CONTRAST = 1.0\n"),
 ("hero held against 3 shots, not 4", "musync/planner/cuts.py", "HERO_LEAD = 4\n", "HERO_LEAD = 3\n"),
 ("build targets do not look ahead", "musync/planner/pace.py", "    if ahead:\n        sec = ahead_in_builds", "    if False:\n        sec = ahead_in_builds"),
 ("hero lowers the cut rate of its window", "musync/planner/pace.py", "frames, shape=False, hero=False, ahead=False)\n    if fixed_prev", "frames, shape=False, ahead=False)\n    if fixed_prev"),
 ("phrase pattern stretched over the phrase", "musync/planner/pace.py", "    q = np.clip(bar, 0, bars - 1) % mult.shape[1]", "    q = np.clip(bar * 4 // np.maximum(bars, 1), 0, 3)"),
 ("count per two bars not held (planner)", "musync/planner/__init__.py", "bars=grid.downbeat_frames,", "bars=None,"),
 ("count repair takes strong cuts away", "musync/planner/_kernels.py", "or (not add and strong[j]):", "or False:"),
 ("count repair: removal's count change sign", "musync/planner/_kernels.py", "if add else (-2.0 * dev + nw)", "if add else (2.0 * dev + nw)"),
 ("count repair: run priced from the changed shot", "musync/planner/_kernels.py", "a = max(0, kk - R - 1)", "a = max(0, kk - 1)"),
 ("count repair: run priced to the next shot only", "musync/planner/_kernels.py", "e_old = min(m - 1, kk + R + 2)", "e_old = min(m - 1, kk + 1)"),
 ("count repair evens out a section (no variety floor)", "musync/planner/cuts.py", "COUNT_CV_FLOOR = 0.3\n", "COUNT_CV_FLOOR = 0.0\n"),
 ("count repair: variety of the next section unchecked", "musync/planner/_kernels.py", "if cvj < cv_floor and", "if False and"),
 ("uncertain grid: builds end on bar lines", "musync/planner/__init__.py", "cut_on=settings.cut_on if loud_beats else \"downbeats\",", "cut_on=\"downbeats\","),
 ("variety repair off", "musync/planner/cuts.py", "VARY_FLOOR = 0.3\n", "VARY_FLOOR = 0.0\n"),
 ("variety repair moves cuts onto weak beats", "musync/planner/cuts.py", "                if strong[j] and not strong[j2]:", "                if False:"),
 ("variety repair moves cuts two bars", "musync/planner/cuts.py", "and abs(b2 - bj) == 1)", "and abs(b2 - bj) <= 2)"),
 ("variety repair: count change unpriced", "musync/planner/cuts.py", "0.0 if bar_of[j2] == bj else self._d_err(bj, bar_of[j2])", "0.0"),
 ("variety repair: no limit on a move's cost", "musync/planner/cuts.py", "        if move is None or best < -VARY_LOSS:\n            break\n        k, j2, d_err, before", "        if move is None:\n            break\n        k, j2, d_err, before"),
 ("accent repair off", "musync/planner/cuts.py", "STRONG_SHARE = 0.95\n", "STRONG_SHARE = 0.0\n"),
 ("accent repair moves onto weak beats", "musync/planner/cuts.py", "            if not strong[j2] or gain <= best:", "            if gain <= best:"),
 ("accent repair: no limit on a move's cost", "musync/planner/cuts.py", "if not heap or heap[0][3][0] < -VARY_LOSS:", "if not heap:"),
 ("accent repair evens out a section", "musync/planner/cuts.py", "            if cv1 < floor and cv1 < cv0 - 1e-12:", "            if False:"),
 ("accent repair counts energy jumps as heard accents", "musync/planner/candidates.py", "firm = {int(f): bool(grid.is_down[k] or grid.onset_rank[k] >= 0.5)", "firm = {int(f): bool(grid.strong[k])"),
 ("assignment: a forced repeat costs nothing", "musync/planner/_kernels.py", "REPEAT_COST = 1e3\n", "REPEAT_COST = 0.0\n"),
 ("brightness rules leave neighbours one source", "musync/planner/costs.py", "settle_singles(apart_rule(ok, wider, same, fixed)", "settle_singles((lambda ok, *_: ok)(ok, wider, same, fixed)"),
 ("one-source slots do not settle their neighbours", "musync/planner/costs.py", "        ok = settle_singles(apart_rule", "        ok = (lambda ok, *_: ok)(apart_rule"),
 ("phrase patterns at full depth at every pace", "musync/planner/pace.py", "PATTERN_NONE = 1.0\n", "PATTERN_NONE = 99.0\n"),
 ("count error of a move across bars: window sign", "musync/planner/cuts.py", "self._window_d(lo - 1, -1.0 if b == lo else 1.0)", "self._window_d(lo - 1, 1.0 if b == lo else -1.0)"),
 ("brightness repair tries no pairs", "musync/planner/_kernels.py", "PAIR_TRIES = 24\n", "PAIR_TRIES = 0\n"),
 ("frame windows: float product at every boundary", "musync/timebase.py", "_FAST_GUARD = 1e-9\n", "_FAST_GUARD = -1.0\n"),
 ("forced cut a flash after the song's start", "musync/planner/candidates.py", "kept: list[int] = [0]", "kept: list[int] = [-10 ** 9]"),
 ("forced cut a flash before the song's end", "musync/planner/candidates.py", "near_end = n_end - fr < min_len", "near_end = False"),
 ("fallback grid: bar lines only", "musync/planner/candidates.py", "(mid[k] and (ramp[k] or analysis.fallback))", "(mid[k] and (ramp[k] or False))"),
 ("fallback grid: no cuts inside the bar", "musync/planner/__init__.py", "not analysis.fallback or analysis.beats_per_bar % 2 == 0)", "not analysis.fallback)"),
 ("fallback grid in 3/4 given the pace of cuts inside the bar", "musync/planner/__init__.py", "not analysis.fallback or analysis.beats_per_bar % 2 == 0)", "True)"),
 ("variety repair adds and joins nothing", "musync/planner/cuts.py", "VARY_SPLITS = 2\n", "VARY_SPLITS = 0\n"),
 ("variety repair adds cuts to short sections", "musync/planner/cuts.py", "VARY_SPLIT_BARS = 8\n", "VARY_SPLIT_BARS = 2\n"),
 ("variety repair joins no shots", "musync/planner/cuts.py", "\n        got = mv.merge(k)\n", "\n        got = None\n"),
 ("variety repair: an added cut's count unpriced", "musync/planner/cuts.py", "gain = float(v - v0) - self.weight * self._d_add(self.bar_of[j2])", "gain = float(v - v0)"),
 ("builds not quickened", "musync/planner/cuts.py", "BUILD_MIN = 1.6\n", "BUILD_MIN = 0.0\n"),
 ("build's last quarter read as its second half", "musync/planner/cuts.py", "a + 3.0 * (b - a) / 4.0", "a + (b - a) / 2.0"),
 ("builds: adds off the accents", "musync/planner/cuts.py", "< b and ok[j2] and gain > best", "< b and gain > best"),
 ("builds: length counted in bar lines", "musync/planner/cuts.py", "if b - a < (BUILD_BARS - 0.5) * bar:", "if np.sum((bars >= a) & (bars < b)) < BUILD_BARS:"),
 ("joins take the shots a hero is held against", "musync/planner/cuts.py", "if any(int(h) in self.heroes for h in", "if False and any(int(h) in self.heroes for h in"),
 ("a rise out of a break keeps its build", "musync/planner/music.py", "BREAK_DIP = 0.1\n", "BREAK_DIP = 9.0\n"),
 ("payoff measured on a climax at the first bar line", "musync/planner/metrics.py", "    if ci == 0:\n", "    if ci < 0:\n"),
 ("count repair ignores the run limit", "musync/planner/cuts.py", "float(cv_floor), int(RUN_MAX))", "float(cv_floor), 99)"),
 ("count repair checks the run on one side of an added cut", "musync/planner/_kernels.py", "                    if add:\n                        run = max(", "                    if False:\n                        run = max("),
 ("splits ignore the run limit", "musync/planner/cuts.py", "if not self._runs_ok(new, (k, k + 1), lo, hi + 1):", "if False:"),
 ("joins ignore the run limit", "musync/planner/cuts.py", "if not self._runs_ok(new, (k - 1,), lo, hi - 1):", "if False:"),
 ("a run counted on one side only", "musync/planner/_kernels.py", "    q = k + 1\n    while q < b and", "    q = k + 1\n    while q < k and"),
 ("splits check the shot before the added cut only", "musync/planner/cuts.py", "self._runs_ok(new, (k, k + 1), lo, hi + 1)", "self._runs_ok(new, (k,), lo, hi + 1)"),
 ("a run of exactly RUN_MAX refused", "musync/planner/cuts.py", "bpos) <= RUN_MAX for k in shots)", "bpos) < RUN_MAX for k in shots)"),
 ("a build's third quarter keeps the ramp", "musync/planner/pace.py", "BUILD_MID_OWN = 0.5\n", "BUILD_MID_OWN = 0.0\n"),
 ("a build's third quarter leans from the ramp, not the build's own pace", "musync/planner/pace.py", "own = np.where(mid, own ** (1.0 - BUILD_MID_OWN)", "own = np.where(mid, ramp ** (1.0 - BUILD_MID_OWN)"),
 ("a frame on a section's start is in the section before", "musync/planner/music.py", "self.section_frames, np.asarray(frames), side=\"right\")", "self.section_frames, np.asarray(frames), side=\"left\")"),
 ("the climax section is the one before a climax on its start", "musync/planner/music.py", "return int(self.section_index(self.climax_frame))", "return int(self.section_index(self.climax_frame - 1))"),
 ("a build's parts counted without a frame's slack", "musync/planner/cuts.py", "return a - 1.0, a + (b - a) / 2.0 - 1.0, a + 3.0 * (b - a) / 4.0 - 1.0", "return a, a + (b - a) / 2.0, a + 3.0 * (b - a) / 4.0"),
 ("a build at its floor adds cuts on accents only", "musync/planner/cuts.py", "ok = heard | (on_beat if now < BUILD_FLOOR else heard)", "ok = heard"),
 ("moves ignore the run limit", "musync/planner/cuts.py", "if runs[i + 1] > RUN_MAX and runs[i + 1] >= runs[0]:", "if False:"),
 ("moves may not shorten a run already too long", "musync/planner/cuts.py", "if runs[i + 1] > RUN_MAX and runs[i + 1] >= runs[0]:", "if runs[i + 1] > RUN_MAX:"),
 ("a move's run counted through the shot after the cut only", "musync/planner/_kernels.py", "out[i] = max(_run_through(cut, k - 1, 0, m, bpos), _run_through(cut, k, 0, m, bpos))", "out[i] = _run_through(cut, k, 0, m, bpos)"),
 ("moves ignore a hero's contrast", "musync/planner/cuts.py", "if near_hero and not self._heroes_hold(k, j2, near_hero):", "if False:"),
 ("a hero's contrast checked on the hero's end only", "musync/planner/cuts.py", "heroes = [q for q in range(k + 1, min(cut.size - 1, k + 1 + HERO_LEAD))", "heroes = [q for q in range(k - 1, k)"),
 ("a move into the next bar prices no move again in the bars before", "musync/planner/cuts.py", "            lo = min(lo, q)\n            q = k\n", "            q = k\n"),
 ("a move into the next bar prices no move again in the bars after", "musync/planner/cuts.py", "            hi = max(hi, q + 1)\n", "            pass\n"),
 ("the accent repair keeps the best moves of a section a move changed", "musync/planner/cuts.py", "| set(sec)\n                         | {x + 1 for x in sec}):", "):"),
 ("the accent repair prices again the cuts of a section, not those after its shots", "musync/planner/cuts.py", "| set(sec)\n                         | {x + 1 for x in sec}):", "| set(sec)):"),
 ("a cut moved across a section start leaves the sections' shots as they were", "musync/planner/cuts.py", "            self._sections = None          # a section's", "            pass                           # a section's"),
 ("a run's first shot not priced again from the cut before it", "musync/planner/cuts.py", "lo = min([lo] + [a - 1 for a, _ in spans])", "lo = min([lo] + [a for a, _ in spans])"),
 ("the accent repair keeps the lengths of a section a move changed", "musync/planner/cuts.py", "            sums.pop(qq, None)\n", "            pass\n"),
 ("a build at its floor adds cuts between beats", "musync/planner/cuts.py", "on_beat = np.abs(cands.beat_pos - np.round(cands.beat_pos)) < 0.05", "on_beat = np.ones(len(cands), dtype=bool)"),
]
only = sys.argv[1:]
missed = 0
env = dict(os.environ, CI="true", MUSYNC_CACHE_DIR=str(ROOT / ".cache" / "mutants"))
for name, f, old, new in M:
    if only and not any(o in name for o in only):
        continue
    p = ROOT / f
    src = p.read_text()
    assert src.count(old) == 1, (name, src.count(old))
    p.write_text(src.replace(old, new))
    try:
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                            "tests/test_planner.py", "tests/test_planner_stages.py", "tests/test_planner_plans.py",
                            "tests/test_planner_metrics.py", "tests/test_planner_replan.py",
                            "tests/test_planner_pace.py", "tests/test_timebase.py",
                            "tests/test_planner_real.py", "tests/test_planner_luma.py"],
                           cwd=ROOT, env=env, capture_output=True, text=True)
        failed = [l for l in r.stdout.splitlines() if l.startswith("FAILED")]
        missed += r.returncode == 0
        print(f"{'CAUGHT' if r.returncode else 'MISSED'}  {name}: {failed[0][7:90] if failed else ''}", flush=True)
    finally:
        p.write_text(src)
sys.exit(1 if missed else 0)
