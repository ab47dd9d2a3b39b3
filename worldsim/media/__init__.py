"""Media I/O: mp4 + audio read/write (imageio-ffmpeg), audio features, the pages' player."""

from worldsim.media.contact_sheet import make_contact_sheet  # noqa: F401, E402
from worldsim.media.onsets import detect_onsets, match_onsets  # noqa: F401, E402
from worldsim.media.player import poster_uri, video_html, write_poster  # noqa: F401
from worldsim.media.video_io import (  # noqa: F401
    MediaError,
    encode_png,
    probe,
    read_audio,
    read_video,
    transcode,
    write_mp4,
    write_png,
)
