"""The pages' video player: a poster frame, and buttons under the picture instead of over it.

    parts = [PLAYER_STYLE, PLAYER_SCRIPT, video_html(src, poster_uri(mp4), label="clip")]

Objects sit on the floor at the bottom of every scene, just where a browser overlays its own
video controls, so the players have no `controls` attribute: a row of buttons below the
picture plays and pauses (with sound: a click is the user gesture browsers ask for), restarts
and toggles looping, beside the playback time; a click on the picture plays or pauses too.
The poster (the clip's middle frame, where the action is) shows the scene before anything
plays. Frames are upscaled with `image-rendering: pixelated`, so every pixel stays sharp.
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

import numpy as np

from worldsim.media.video_io import encode_png, read_video, write_png

POSTER_AT = 0.5  # the poster is the frame this far into the clip

PLAYER_STYLE = (
    "<style>.player{display:inline-block;vertical-align:top;margin:2px 4px}"
    ".player video{display:block;width:192px;image-rendering:pixelated;background:#000;"
    "cursor:pointer}.player .ctl{display:flex;gap:4px;align-items:center;margin-top:3px;"
    "font-size:12px}.player button{font-size:12px;padding:1px 6px}"
    ".player button[aria-pressed=true]{background:#cde}.player .time{color:#666;"
    "font-variant-numeric:tabular-nums}</style>"
)

PLAYER_SCRIPT = """<script>
// Buttons under each video (worldsim/media/player.py): data-act play | restart | loop.
document.addEventListener("click", (e) => {
  const player = e.target.closest(".player");
  if (!player) return;
  const v = player.querySelector("video");
  const act = e.target.dataset.act || (e.target === v ? "play" : "");
  if (act === "play") v.paused ? v.play() : v.pause();
  if (act === "restart") { v.currentTime = 0; v.play(); }
  if (act === "loop") v.loop = !v.loop;
  sync(v);
});
function sync(v) {
  const player = v.closest && v.closest(".player");
  if (!player) return;
  player.querySelector("[data-act=play]").textContent = v.paused ? "\\u25b6 play" : "\\u275a\\u275a pause";
  player.querySelector("[data-act=loop]").setAttribute("aria-pressed", String(v.loop));
  player.querySelector(".time").textContent = v.currentTime.toFixed(2) + " s";
}
for (const kind of ["play", "pause", "ended", "timeupdate"]) {
  document.addEventListener(kind, (e) => sync(e.target), true);  // media events do not bubble
}
</script>"""


def poster_frame(path: str | os.PathLike) -> np.ndarray:
    """uint8 [H, W, 3]: the frame POSTER_AT into the clip, as decoded (codec included)."""
    frames, _ = read_video(path)  # [T, H, W, 3]
    return frames[int(POSTER_AT * (len(frames) - 1))]


def poster_uri(path: str | os.PathLike) -> str:
    """The clip's poster frame as a PNG data URI, for a page that must stand alone."""
    return "data:image/png;base64," + base64.b64encode(encode_png(poster_frame(path))).decode()


def write_poster(path: str | os.PathLike, out: str | os.PathLike) -> Path:
    """The clip's poster frame written as the PNG `out` (a file beside the clip)."""
    return write_png(out, poster_frame(path))


def video_html(src: str, poster: str, *, label: str = "") -> str:
    """One player: an optional label, the looping video with its poster, the buttons below.

    src and poster are URLs (relative paths or data URIs); the page must include
    PLAYER_STYLE and PLAYER_SCRIPT once.
    """
    esc = html.escape
    head = f"<div>{esc(label)}</div>" if label else ""
    return (
        f"<div class='player'>{head}"
        f"<video src='{esc(src)}' poster='{esc(poster)}' loop preload='metadata' playsinline>"
        "</video><div class='ctl'><button type='button' data-act='play'>&#9654; play</button>"
        "<button type='button' data-act='restart'>&#8634; restart</button>"
        "<button type='button' data-act='loop' aria-pressed='true'>loop</button>"
        "<span class='time'>0.00 s</span></div></div>"
    )
