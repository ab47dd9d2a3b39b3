"""Impact sounds as *events*: onsets robust to what lossy audio codecs do to a click.

`worldsim.media.detect_onsets` finds every sharp rise. On audio that went through AAC
(every mp4 here), one impact becomes several rises: pre-echo, a few weak ones up to
~80 ms *before* the impact (the codec spreads the click over its transform block), and
a cluster within ~10 ms of it. Measured on the simulator's clips written to mp4: 2-5x
more onsets than contacts, none of them more than 80 ms early. So onsets become events:

1. dominance: an onset whose peak is under 1/DOMINANCE of a later onset's within
   PRE_ECHO_S is that onset's pre-echo and is dropped (a real quiet impact that close
   before a 4x louder one is lost too; the ear masks it as well);
2. clustering: onsets within CLUSTER_S of each other are one event, at the time of the
   loudest. Contacts are clustered the same way before matching, so two impacts closer
   than CLUSTER_S count once on both sides.
"""

from __future__ import annotations

import numpy as np

from worldsim.media.onsets import detect_onsets, onset_envelope

PRE_ECHO_S = 0.1
DOMINANCE = 4.0
CLUSTER_S = 0.02
PEAK_WINDOW_S = 0.002


def cluster_times(times, weights=None, window: float = CLUSTER_S) -> np.ndarray:
    """Times -> one per group, at its heaviest member (the first if no weights). A group
    starts at the first time not yet grouped and takes the times less than `window`
    after it, so a group never spans more than `window` (no chaining: clicks every 10 ms
    stay many events)."""
    times = np.asarray(times, np.float64)
    if times.size == 0:
        return times
    order = np.argsort(times)
    times = times[order]
    weights = np.ones_like(times) if weights is None else np.asarray(weights, np.float64)[order]
    out, group = [], [0]
    for i in range(1, len(times) + 1):
        if i < len(times) and times[i] - times[group[0]] < window:
            group.append(i)
            continue
        best = max(group, key=lambda j: (weights[j], -j))
        out.append(times[best])
        group = [i]
    return np.asarray(out)


def impact_events(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Times (s) of impact sounds in `audio` (see the module docstring)."""
    onsets = detect_onsets(audio, sample_rate)
    if onsets.size == 0:
        return onsets
    env = onset_envelope(audio, sample_rate)
    width = max(1, int(round(PEAK_WINDOW_S * sample_rate)))
    starts = np.rint(onsets * sample_rate).astype(int)
    peaks = np.asarray([env[s : s + width].max() for s in starts])
    keep = np.ones(onsets.size, bool)
    for i in range(onsets.size):
        later = (onsets > onsets[i]) & (onsets - onsets[i] < PRE_ECHO_S)
        if later.any() and peaks[later].max() > DOMINANCE * peaks[i]:
            keep[i] = False
    return cluster_times(onsets[keep], peaks[keep])
