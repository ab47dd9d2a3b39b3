"""Impact sounds as *events*: onsets robust to what lossy audio codecs do to a click.

`worldsim.media.detect_onsets` finds every sharp rise. On audio that went through AAC
(every mp4 here), one impact becomes several rises: pre-echo, a few weak ones up to
~80 ms *before* the impact (the codec spreads the click over its transform block), and
a cluster within ~10 ms of it. Measured on the simulator's clips written to mp4: 2-5x
more onsets than contacts, none of them more than 80 ms early. So onsets become events:

1. dominance: an onset whose peak is under 1/DOMINANCE of a later onset's within
   PRE_ECHO_S is that onset's pre-echo and is dropped (a real quiet impact that close
   before a 4x louder one is lost too; the ear masks it as well);
2. level steps: where a sound stops into, or starts from, digital silence (a trivial
   baseline keeps the room tone for the conditioning frames, then is silent), the cut is
   a discontinuity and reads as an onset; it is a change of level, not an impact.
   - near silence: silence is a run of at least MIN_SILENCE_S of SILENCE_FRAME_S frames
     under SILENCE_RMS (the onset detector's floor, 10x under the room tone). Only onsets
     within BOUNDARY_S of its start or end are judged: one AAC frame (1024 samples at
     16 kHz), as far as the codec's echo moves where a cut reads silent (~35 ms measured
     for a cut through a loud ring), so clips with no silence are never touched;
   - where it stops or starts: the RMS over EDGE_S, EDGE_GAP_S after the onset, is under
     QUIET x the RMS over EDGE_S before it (the sound stops), or the other way round
     (it starts). AAC leaves <= 0.16 of the sound on the silent side; a click more than
     ~4 ms before a cut or after a resume has more sound on both sides, so it is kept;
   - no louder than that sound: such an onset is a step unless its peak |audio| exceeds
     STEP_RATIO x the peak of the sound on its non-silent side over LEVEL_WINDOW_S. A
     step's peak is a sample of that sound. Where a sound stops, the onset's peak is
     within EDGE_GAP_S of it and the sound is what precedes it; where one starts, the
     onset's peak is taken up to LEVEL_SKIP_S after it (AAC can move the onset ~8 ms
     before a click out of silence) and the sound from there on, past the start of the
     onset's own ring: a struck object is louder at the strike than anywhere in its ring,
     a resumed sound's level holds. Peaks, not RMS: noise has a crest factor of ~3, rings
     ~1.5. Measured after AAC: cuts to and from the room tone <= 1.08x (60 seeds); every
     material pair at impulses 0.05-5 N s struck out of silence >= 1.25x (metal on metal,
     whose ring barely decays in 0.2 s, is the closest). A ring cut in mid-way from
     silence decays like an impact and may count as one;
3. clustering: onsets within CLUSTER_S of each other are one event, at the time of the
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
SILENCE_RMS = 2e-4
SILENCE_FRAME_S = 0.005
MIN_SILENCE_S = 0.025
BOUNDARY_S = 0.064
EDGE_GAP_S = 0.002
EDGE_S = 0.02
QUIET = 0.25
STEP_RATIO = 1.15
LEVEL_SKIP_S = 0.02
LEVEL_WINDOW_S = 0.2


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


def silence_boundaries(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Times (s) where a silence of at least MIN_SILENCE_S begins or ends; the clip's own
    ends are not boundaries."""
    audio = np.asarray(audio, np.float64)
    frame = max(1, int(round(SILENCE_FRAME_S * sample_rate)))
    n = audio.size // frame
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1))  # [F]
    silent = np.concatenate([[False], rms < SILENCE_RMS, [False]]).astype(int)
    edges = np.flatnonzero(np.diff(silent))  # silent runs span frames [edges[2i], edges[2i+1])
    starts, ends = edges[0::2], edges[1::2]
    long = ends - starts >= int(np.ceil(MIN_SILENCE_S / SILENCE_FRAME_S))
    frames = np.concatenate([starts[long & (starts > 0)], ends[long & (ends < n)]])
    return np.sort(frames) * frame / sample_rate


def _rms(audio: np.ndarray, lo: int, hi: int) -> float:
    segment = audio[max(0, lo) : max(0, hi)]
    return float(np.sqrt(np.mean(segment**2))) if segment.size else 0.0


def _peak(audio: np.ndarray, lo: int, hi: int) -> float:
    segment = audio[max(0, lo) : max(0, hi)]
    return float(np.abs(segment).max()) if segment.size else 0.0


def is_level_step(audio: np.ndarray, sample_rate: int, onset_s: float) -> bool:
    """Whether the onset at `onset_s` is where a sound stops or starts, no louder than that
    sound (module docstring, 2.; the caller checks that it is near a silence)."""
    audio = np.asarray(audio, np.float64)
    n = int(round(onset_s * sample_rate))
    gap, edge, skip, window = (
        int(round(x * sample_rate)) for x in (EDGE_GAP_S, EDGE_S, LEVEL_SKIP_S, LEVEL_WINDOW_S)
    )
    before, after = _rms(audio, n - gap - edge, n - gap), _rms(audio, n + gap, n + gap + edge)
    if after <= QUIET * before:  # the sound stops: its last samples against what came before
        onset, sound = _peak(audio, n - gap, n + gap), _peak(audio, n - gap - window, n - gap)
    elif before <= QUIET * after:  # it starts: its first samples against what follows them
        onset, sound = _peak(audio, n - gap, n + skip), _peak(audio, n + skip, n + skip + window)
    else:
        return False
    return onset <= STEP_RATIO * sound


def impact_events(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Times (s) of impact sounds in `audio` (see the module docstring)."""
    onsets = detect_onsets(audio, sample_rate)
    if onsets.size == 0:
        return onsets
    audio = np.asarray(audio, np.float64)
    env = onset_envelope(audio, sample_rate)
    width = max(1, int(round(PEAK_WINDOW_S * sample_rate)))
    starts = np.rint(onsets * sample_rate).astype(int)
    peaks = np.asarray([env[s : s + width].max() for s in starts])
    keep = np.ones(onsets.size, bool)
    for i in range(onsets.size):
        later = (onsets > onsets[i]) & (onsets - onsets[i] < PRE_ECHO_S)
        if later.any() and peaks[later].max() > DOMINANCE * peaks[i]:
            keep[i] = False
    boundaries = silence_boundaries(audio, sample_rate)
    for i in np.flatnonzero(keep):
        near = boundaries.size and np.abs(boundaries - onsets[i]).min() <= BOUNDARY_S
        if near and is_level_step(audio, sample_rate, onsets[i]):
            keep[i] = False
    return cluster_times(onsets[keep], peaks[keep])
