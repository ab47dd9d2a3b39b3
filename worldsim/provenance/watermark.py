"""A visible, moving watermark on generated clips, and the detector that finds it again.

Why visible: a person watching the clip should see that it was generated, without a tool.
Why moving: a mark that stays in one corner is cropped or painted over in one step; like
Sora's, ours hops between six places (the four corners, then the middle of the top and bottom
edges) every `period_frames` frames, so no single crop or patch removes it from the whole
clip. The path depends only on (frame index, frame size), so the detector knows where to look.

How it looks: white capitals on a black box, both blended at `opacity` over the frame, so the
text reads on light and dark backgrounds alike. Frames are tiny (64x64), so the text is drawn
in a hand-made 3x5 pixel font (A-Z, 0-9, space and `- . : ! ? / + _`; lower case is drawn in
capitals) with one pixel of box around it: "AI" is a 9x7 px mark. Pillow (installed) was tried
first: its bitmap font is 11 px tall, a sixth of the frame, and its FreeType font at 5-8 px
renders antialiased grey smudges; the pixel font is crisp and a third the size. The mark grows
by whole pixels with the frame (x2 from 128 px, x4 from 256 px).

How it is found: blending puts `imprint = opacity * (255 * glyph - background) * box` (box and
glyph: 0/1 masks) on the background's luma. Because the mark moves, every place it visits is
also seen without it, in the frames where the mark is elsewhere: the per-pixel median of
those frames estimates the background there (for a still scene, exactly, walls and floor
included). A frame's score is its residual (frame - background) projected on the imprint
expected from that background: about 1 with the mark, about 0 without. The projection uses
the whole imprint, so the dark box (low frequencies, which survive heavy compression) counts
as well as the 1-pixel strokes (which blur first). A clip whose every frame holds the mark at
one place, or overlapping ones, has no clean frame: there the background is taken flat, its
level fitted with the box and glyph masks. The clip's score is the mean frame score (each
clipped to [-1, 1]). Masks are drawn at the size the clip was marked at and area-resized to
the size given, so a clip re-encoded at half the size is matched against a half-size mark
(`source_scales`). The threshold's margin was measured on the simulator's clips
(`python benchmarks/provenance_rates.py --num-clips 20 --seed 0`, `detection_rates`).

Limits: a clip cut at the start, or resampled to another frame rate, puts the mark off the
path the detector follows; a flash or fade while the mark rests at one place moves that
place's residual and can raise the score.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

# 3x5 capitals, digits and a few symbols: "#" is ink.
_FONT_ROWS: dict[str, tuple[str, ...]] = {
    "A": (".#.", "#.#", "###", "#.#", "#.#"),
    "B": ("##.", "#.#", "##.", "#.#", "##."),
    "C": (".##", "#..", "#..", "#..", ".##"),
    "D": ("##.", "#.#", "#.#", "#.#", "##."),
    "E": ("###", "#..", "##.", "#..", "###"),
    "F": ("###", "#..", "##.", "#..", "#.."),
    "G": (".##", "#..", "#.#", "#.#", ".##"),
    "H": ("#.#", "#.#", "###", "#.#", "#.#"),
    "I": ("###", ".#.", ".#.", ".#.", "###"),
    "J": ("..#", "..#", "..#", "#.#", ".#."),
    "K": ("#.#", "#.#", "##.", "#.#", "#.#"),
    "L": ("#..", "#..", "#..", "#..", "###"),
    "M": ("#.#", "###", "###", "#.#", "#.#"),
    "N": ("##.", "#.#", "#.#", "#.#", "#.#"),
    "O": (".#.", "#.#", "#.#", "#.#", ".#."),
    "P": ("##.", "#.#", "##.", "#..", "#.."),
    "Q": (".#.", "#.#", "#.#", "##.", ".##"),
    "R": ("##.", "#.#", "##.", "#.#", "#.#"),
    "S": (".##", "#..", ".#.", "..#", "##."),
    "T": ("###", ".#.", ".#.", ".#.", ".#."),
    "U": ("#.#", "#.#", "#.#", "#.#", "###"),
    "V": ("#.#", "#.#", "#.#", "#.#", ".#."),
    "W": ("#.#", "#.#", "###", "###", "#.#"),
    "X": ("#.#", "#.#", ".#.", "#.#", "#.#"),
    "Y": ("#.#", "#.#", ".#.", ".#.", ".#."),
    "Z": ("###", "..#", ".#.", "#..", "###"),
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("##.", "..#", ".#.", "#..", "###"),
    "3": ("##.", "..#", ".#.", "..#", "##."),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "##.", "..#", "##."),
    "6": (".##", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", ".#.", ".#.", ".#."),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "##."),
    " ": ("...", "...", "...", "...", "..."),
    "-": ("...", "...", "###", "...", "..."),
    ".": ("...", "...", "...", "...", ".#."),
    ":": ("...", ".#.", "...", ".#.", "..."),
    "!": (".#.", ".#.", ".#.", "...", ".#."),
    "?": ("##.", "..#", ".#.", "...", ".#."),
    "/": ("..#", "..#", ".#.", "#..", "#.."),
    "+": ("...", ".#.", "###", ".#.", "..."),
    "_": ("...", "...", "...", "...", "###"),
}
FONT_CHARACTERS = "".join(_FONT_ROWS)
GLYPH_HEIGHT, GLYPH_WIDTH = 5, 3  # font pixels; one pixel of gap between characters

# Where the mark's top-left corner goes, as fractions (down, across) of the free range; the
# mark visits them in this order, one per `period_frames`, then starts again.
ANCHORS: tuple[tuple[float, float], ...] = (
    (0.0, 0.0),  # top left
    (1.0, 1.0),  # bottom right
    (0.0, 1.0),  # top right
    (1.0, 0.0),  # bottom left
    (0.0, 0.5),  # top middle
    (1.0, 0.5),  # bottom middle
)
MARGIN = 2  # font pixels between the mark and the frame's edge

# Clip score at or above which the mark is reported. Measured on the simulator's 22 clips
# (`detection_rates`): unmarked, as written or re-encoded (a third of the bitrate, half the
# size), they score <= 0.08; marked and re-encoded at half the size >= 0.85, at a third of the
# bitrate >= 0.3 except where the re-encode wipes the picture itself. 0.2 leaves ~0.1 each side.
DETECTION_THRESHOLD = 0.2
# The ratios (size the clip was marked at) / (size it is given at) the detector tries.
SOURCE_SCALES = (1.0, 2.0)

_LUMA = np.array([0.299, 0.587, 0.114])  # BT.601, the weights yuv420p encoding uses


@dataclasses.dataclass(frozen=True)
class WatermarkSettings:
    """What the mark says, how strongly it is blended, and how long it stays in one place."""

    text: str = "AI"
    # Alpha of the white text and of the black box behind it. 0.8 rather than a fainter 0.6:
    # at a third of the bitrate 0.6 lost the mark in 3 more of the 22 simulator clips.
    opacity: float = 0.8
    period_frames: int = 8  # frames before the mark hops (half a second at 16 fps)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError(f"text must have at least one visible character, got {self.text!r}")
        missing = sorted({c for c in self.text.upper() if c not in _FONT_ROWS})
        if missing:
            raise ValueError(
                f"text {self.text!r} has characters the font lacks: {''.join(missing)!r} "
                f"(it has {FONT_CHARACTERS!r}, lower case drawn as capitals)"
            )
        if not 0.0 < self.opacity <= 1.0:
            raise ValueError(f"opacity must be in (0, 1], got {self.opacity}")
        if isinstance(self.period_frames, bool) or not isinstance(self.period_frames, int):
            raise ValueError(f"period_frames must be an int, got {self.period_frames!r}")
        if self.period_frames < 1:
            raise ValueError(f"period_frames must be >= 1, got {self.period_frames}")


@dataclasses.dataclass(frozen=True)
class Detection:
    """The detector's verdict on one clip, with the per-frame evidence behind it."""

    found: bool  # score >= threshold
    score: float  # mean clipped frame score: ~1 marked, ~0 unmarked
    threshold: float
    frame_scores: tuple[float, ...]  # [T] share of the expected imprint found in each frame
    frame_hits: tuple[bool, ...]  # [T] frame score >= threshold
    source_scale: float  # the ratio (marked size / given size) that scored best


def mark_scale(height: int, width: int) -> int:
    """Screen pixels per font pixel: 1 up to 127 px, then one more per 64 px of the short side."""
    return max(1, min(height, width) // 64)


def render_mark(text: str, scale: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The mark's box and glyph masks, bool [h, w] each (glyph pixels lie inside the box)."""
    glyphs = [
        np.array([[c == "#" for c in row] for row in _FONT_ROWS[ch]]) for ch in text.upper()
    ]  # each [5, 3]
    gap = np.zeros((GLYPH_HEIGHT, 1), bool)
    line = np.concatenate([part for g in glyphs for part in (g, gap)][:-1], axis=1)  # [5, 4n-1]
    glyph = np.pad(line, 1)  # [7, 4n+1]: one font pixel of box all round
    glyph = glyph.repeat(scale, axis=0).repeat(scale, axis=1)  # [7s, (4n+1)s]
    return np.ones_like(glyph), glyph


def _mark_size(text: str, height: int, width: int) -> tuple[int, int]:
    s = mark_scale(height, width)
    return (GLYPH_HEIGHT + 2) * s, ((GLYPH_WIDTH + 1) * len(text) + 1) * s


def _fits(text: str, height: int, width: int) -> bool:
    mh, mw = _mark_size(text, height, width)
    margin = MARGIN * mark_scale(height, width)
    return mh + 2 * margin <= height and mw + 2 * margin <= width


def _check_fits(text: str, height: int, width: int) -> None:
    if not _fits(text, height, width):
        mh, mw = _mark_size(text, height, width)
        raise ValueError(
            f"text {text!r} makes a {mh}x{mw} px mark (plus a {MARGIN * mark_scale(height, width)}"
            f" px margin each side), larger than the {height}x{width} frames: use shorter text"
        )


def _place(frame_index: int, settings: WatermarkSettings) -> int:
    """Which of ANCHORS the mark occupies in this frame."""
    return (frame_index // settings.period_frames) % len(ANCHORS)


def _anchor_position(place: int, height: int, width: int, text: str) -> tuple[int, int]:
    mh, mw = _mark_size(text, height, width)
    margin = MARGIN * mark_scale(height, width)
    down, across = ANCHORS[place]
    top = margin + round(down * (height - 2 * margin - mh))
    left = margin + round(across * (width - 2 * margin - mw))
    return top, left


def mark_position(
    frame_index: int, height: int, width: int, settings: WatermarkSettings
) -> tuple[int, int]:
    """(top, left) of the mark in frame `frame_index` of a height x width clip."""
    _check_fits(settings.text, height, width)
    return _anchor_position(_place(frame_index, settings), height, width, settings.text)


def _check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
        raise ValueError(f"frames must be [T>0, H, W, 3], got shape {frames.shape}")
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {frames.dtype}")
    return frames


def apply(frames: np.ndarray, settings: WatermarkSettings = WatermarkSettings()) -> np.ndarray:
    """A copy of uint8 [T, H, W, 3] frames with the moving mark blended in; input untouched."""
    frames = _check_frames(frames)
    t, h, w, _ = frames.shape
    _check_fits(settings.text, h, w)
    box, glyph = render_mark(settings.text, mark_scale(h, w))
    mh, mw = box.shape
    ink = 255.0 * glyph[..., None]  # [mh, mw, 1]: white text on a black box
    a = settings.opacity
    out = frames.copy()
    for i in range(t):
        top, left = mark_position(i, h, w, settings)
        region = out[i, top : top + mh, left : left + mw].astype(np.float32)  # [mh, mw, 3]
        out[i, top : top + mh, left : left + mw] = np.rint((1 - a) * region + a * ink)
    return out


# ----------------------------------------------------------------------------- detection


def _area_matrix(n_out: int, n_in: int) -> np.ndarray:
    """[n_out, n_in] weights of an area-average resize along one axis (rows sum to 1)."""
    lo = np.arange(n_out)[:, None] * n_in / n_out  # [n_out, 1] output cell edges, input units
    hi = lo + n_in / n_out
    overlap = np.minimum(hi, np.arange(1, n_in + 1)) - np.maximum(lo, np.arange(n_in))
    weights = np.clip(overlap, 0.0, None)  # [n_out, n_in]
    return weights / weights.sum(axis=1, keepdims=True)


@dataclasses.dataclass(frozen=True)
class _Template:
    """One place's window in the frames given, and the mark's masks resized into it."""

    rows: slice
    cols: slice
    box: np.ndarray  # [h', w'] share of each pixel the box covers
    glyph: np.ndarray  # [h', w'] share of each pixel the strokes cover

    def overlaps(self, other: _Template) -> bool:
        return (
            self.rows.start < other.rows.stop
            and other.rows.start < self.rows.stop
            and self.cols.start < other.cols.stop
            and other.cols.start < self.cols.stop
        )


def _template(place: int, height: int, width: int, source_scale: float, text: str) -> _Template:
    """Masks drawn where the mark sits on a clip of the source size (given size x scale), then
    area-resized to the given size: a resize is linear, so the imprint's form survives it."""
    sh, sw = round(height * source_scale), round(width * source_scale)
    box, glyph = render_mark(text, mark_scale(sh, sw))
    top, left = _anchor_position(place, sh, sw, text)
    mh, mw = box.shape
    rows = _area_matrix(height, sh)[:, top : top + mh]  # [H, mh]
    cols = _area_matrix(width, sw)[:, left : left + mw]  # [W, mw]
    r, c = np.flatnonzero(rows.sum(1) > 1e-9), np.flatnonzero(cols.sum(1) > 1e-9)
    # One pixel of surround each side: the flat-background fallback reads its level there.
    r0, r1 = max(r[0] - 1, 0), min(r[-1] + 2, height)
    c0, c1 = max(c[0] - 1, 0), min(c[-1] + 2, width)
    rows, cols = rows[r0:r1], cols[c0:c1]  # [h', mh], [w', mw]
    return _Template(
        slice(r0, r1),
        slice(c0, c1),
        rows @ box.astype(np.float64) @ cols.T,  # [h', w']
        rows @ glyph.astype(np.float64) @ cols.T,  # [h', w']
    )


def _flat_background(window: np.ndarray, tpl: _Template) -> np.ndarray:
    """[h', w'] a flat background whose level is fitted with the mark's masks (no clean frame)."""
    design = np.stack([np.ones(tpl.box.size), tpl.box.ravel(), tpl.glyph.ravel()], 1)  # [P, 3]
    level = np.linalg.lstsq(design, window.ravel(), rcond=None)[0][0]
    return np.full(window.shape, level)


def frame_scores(
    frames: np.ndarray,
    settings: WatermarkSettings = WatermarkSettings(),
    source_scale: float = 1.0,
) -> np.ndarray:
    """float [T]: the share of the mark's expected imprint found in each frame, where the path
    puts it on a clip marked at (given size x source_scale); about 1 marked, 0 unmarked."""
    frames = _check_frames(frames)
    t, h, w, _ = frames.shape
    sh, sw = round(h * source_scale), round(w * source_scale)
    _check_fits(settings.text, sh, sw)
    luma = frames.astype(np.float64) @ _LUMA  # [T, H, W]
    places = [_place(i, settings) for i in range(t)]
    templates = {p: _template(p, h, w, source_scale, settings.text) for p in set(places)}
    a = settings.opacity
    scores = np.zeros(t)
    for p, tpl in templates.items():
        windows = luma[:, tpl.rows, tpl.cols]  # [T, h', w']
        clean = [j for j in range(t) if not templates[places[j]].overlaps(tpl)]
        median = np.median(windows[clean], axis=0) if clean else None  # [h', w']
        for i in (i for i in range(t) if places[i] == p):
            background = median if clean else _flat_background(windows[i], tpl)
            imprint = a * (255.0 * tpl.glyph - tpl.box * background)  # [h', w']
            residual = windows[i] - background  # [h', w']
            scores[i] = (residual * imprint).sum() / max((imprint * imprint).sum(), 1e-9)
    return scores


def detect(
    frames: np.ndarray,
    settings: WatermarkSettings = WatermarkSettings(),
    *,
    threshold: float = DETECTION_THRESHOLD,
    source_scales: Sequence[float] = SOURCE_SCALES,
) -> Detection:
    """Is the mark of `settings` in these decoded uint8 [T, H, W, 3] frames?

    Tries each source scale (the clip was marked at its given size x scale, then resized) and
    keeps the best; a scale at which the mark would not fit the frame is skipped.
    """
    frames = _check_frames(frames)
    _, h, w, _ = frames.shape
    if any(s <= 0 for s in source_scales):
        raise ValueError(f"source_scales must all be > 0, got {tuple(source_scales)}")
    fitting = [s for s in source_scales if _fits(settings.text, round(h * s), round(w * s))]
    if not fitting:
        raise ValueError(
            f"frames of {h}x{w} cannot hold the mark of text {settings.text!r} at any of "
            f"source_scales {tuple(source_scales)}"
        )
    best: tuple[float, np.ndarray, float] | None = None
    for scale in fitting:
        scores = frame_scores(frames, settings, scale)
        score = float(np.clip(scores, -1.0, 1.0).mean())
        if best is None or score > best[0]:
            best = (score, scores, float(scale))
    score, scores, scale = best
    return Detection(
        found=score >= threshold,
        score=score,
        threshold=threshold,
        frame_scores=tuple(float(s) for s in scores),
        frame_hits=tuple(bool(s >= threshold) for s in scores),
        source_scale=scale,
    )
