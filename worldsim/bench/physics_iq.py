"""Physics-IQ's four measures and its combined score, adapted to the benchmark's clips.

Physics-IQ (Motamed et al. 2025, "Do generative video models understand physical
principles?", github.com/google-deepmind/physics-IQ-benchmark) compares a model's
continuation with a real video through *motion masks* (where pixels change) and pixels:

- spatial IoU: where does motion happen (masks OR-ed over time);
- spatiotemporal IoU: where and when (per-frame IoU, averaged over frames);
- weighted spatial IoU: where and how much (share of frames each pixel moves);
- MSE: how it happens (pixel error, values in [0, 1]).

Each is judged against the *physical variance*: the same measure between two real takes
of the scene, the best any model can be expected to do. The Physics IQ score averages
the three IoUs divided by their variance and subtracts MSE's excess over its variance,
over the whole set of cases (DEFINITIONS). Written from those definitions, no code copied;
read in the paper and in the repository's code/binary_mask_generator.py (masks),
code/calculate_and_write_metrics_to_csv.py (measures), code/calculate_iq_score.py (score).

Here the second take is our simulator's render of the same scene at 128x128, resampled
down to 64x64 (ffmpeg area), so the variance is rendering and codec variance: small but
not zero. ADAPTATIONS lists every departure from Physics-IQ and why; the report prints
DEFINITIONS and ADAPTATIONS beside the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MEASURES = ("spatial_iou", "spatiotemporal_iou", "weighted_spatial_iou", "mse")
IOU_MEASURES = MEASURES[:3]
HIGHER_IS_BETTER = {
    "spatial_iou": True,
    "spatiotemporal_iou": True,
    "weighted_spatial_iou": True,
    "mse": False,
}

# Motion mask (Physics-IQ's values, kept: see ADAPTATIONS for why they fit 64x64 clips).
BACKGROUND_RATE = 0.3  # weight of the current frame in the running-average background
MOTION_THRESHOLD = 10.0  # grey levels (0-255) between a frame and its background
# A variance IoU below this counts as this when a model's IoU is divided by it.
VARIANCE_FLOOR = 1e-6
SCORE_CEILING = 100.0
# What a missing or unreadable clip counts as: no motion where the truth's is, the largest
# possible error (frames in [0, 1]).
WORST = {"spatial_iou": 0.0, "spatiotemporal_iou": 0.0, "weighted_spatial_iou": 0.0, "mse": 1.0}

DEFINITIONS: dict[str, str] = {
    "motion_mask": (
        "mask t: pixels whose largest channel differs by more than 10 grey levels from a "
        "running-average background b_t = 0.7 b_(t-1) + 0.3 x_t, seeded with frame 0 "
        "(mask 0 is empty); compared masks start from the last conditioning frame as seed"
    ),
    "spatial_iou": "IoU of the masks OR-ed over the compared frames (1 if both are empty)",
    "spatiotemporal_iou": (
        "per-frame IoU of the masks (1 where both are empty), mean over the compared frames"
    ),
    "weighted_spatial_iou": (
        "w = share of compared frames each pixel is in the mask; sum(min(w, w')) / "
        "sum(max(w, w')) (1 if both are empty)"
    ),
    "mse": "mean squared pixel error, values in [0, 1], mean over the compared frames",
    "normalised": (
        "over a set of cases: each IoU's mean over the cases divided by the physical "
        "variance's mean; MSE's mean minus the variance's mean"
    ),
    "physics_iq": (
        "100 * clip(mean of the three normalised IoUs - normalised MSE, 0, 1), over the "
        "set of cases (one case: that case's score); 100 = as good as the second take"
    ),
}

ADAPTATIONS: tuple[str, ...] = (
    "Compared frames: those after the conditioning (index >= condition_frames) of a 2 s, "
    "16 fps, 64x64 clip, not Physics-IQ's 5 s after a 3 s conditioning video.",
    "Second take: the same scene re-rendered by the simulator at 128x128 and resampled to "
    "64x64 (ffmpeg area), not a second real recording; the variance is rendering/codec "
    "variance, so 100 means 'as close as another render of the truth'.",
    "Mask seed: the running background starts at the last conditioning frame, so the first "
    "predicted frame gets a real mask (Physics-IQ's continuation starts with an empty one) "
    "and motion seen during the conditioning does not leak into the compared masks.",
    "No blur, no morphology: Physics-IQ's 5x5 Gaussian blur and 5x5 opening and closing are "
    "sub-pixel at its resolution ratio to ours (~1000 px to 64 px); at 64x64 a 5x5 opening "
    "erases every object (2-6 px) and the 1 px strips that 1 px/frame motion leaves.",
    "Largest channel difference instead of grey: some dynamic colours have the luma of a "
    "static grey (red 94 on the floor's 96, magenta 110 on a ramp's 112), so a grey mask "
    "would miss them moving; in the largest channel every dynamic colour differs from the "
    "background and every static grey by 72 levels or more (palette.py).",
    "Threshold 10 and rate 0.3 kept: the mask tests |x_t - b_(t-1)| > 10 / 0.7 = 14 "
    "levels; H.264 noise of +-3 levels per frame gives at most 6, a fully covered pixel "
    "changes by 72 or more. Rate 0.3 per frame as Physics-IQ uses at "
    "16 fps: a stopped object fades from the mask within about 5 frames.",
    "MSE at the case's 64x64 size, RGB in [0, 1] (Physics-IQ: quarter of the real video's "
    "size); both clips must have the case's size, frame rate and length.",
    "One view per case (Physics-IQ averages three camera views per scenario).",
    "Division by zero: a variance IoU below 1e-6 counts as 1e-6 (the final score is capped "
    "at 100 anyway). MSE is subtracted, as in Physics-IQ, so a perfect second take "
    "(variance MSE 0) needs no floor.",
)


def motion_masks(frames: np.ndarray) -> np.ndarray:
    """Where each frame moves: uint8 [T, H, W, 3] -> bool [T, H, W].

    Mask t marks the pixels of frame t that differ from a running-average background of
    frames 0..t (Physics-IQ's background subtraction, background updated before the
    difference): b_0 = x_0, b_t = (1 - r) b_(t-1) + r x_t, mask_t = max over channels
    |x_t - b_t| > MOTION_THRESHOLD. Mask 0 is empty (no past). A pixel that stops changing
    leaves the mask after a few frames as b catches up. Float throughout (Physics-IQ rounds
    b to uint8, a difference of at most half a grey level).
    """
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be [T, H, W, 3]; got shape {frames.shape}")
    x = frames.astype(np.float32)  # [T, H, W, 3]
    weights = _background_weights(len(x))  # [T, T]
    background = (weights @ x.reshape(len(x), -1)).reshape(x.shape)  # [T, H, W, 3]
    diff = np.abs(x - background)  # [T, H, W, 3]
    # largest channel; np.maximum is ~30x faster than .max(axis=-1) over 3 channels
    largest = np.maximum(np.maximum(diff[..., 0], diff[..., 1]), diff[..., 2])  # [T, H, W]
    return largest > MOTION_THRESHOLD


def _background_weights(num_frames: int) -> np.ndarray:
    """[T, T] weights w with b_t = sum_s w[t, s] x_s: the recursion b_t = (1 - r) b_(t-1)
    + r x_t from b_0 = x_0, unrolled so the whole clip is one matrix product (~1 ms)."""
    t = np.arange(num_frames)
    lag = t[:, None] - t[None, :]  # [T, T], t - s
    keep = 1.0 - BACKGROUND_RATE
    weights = np.where(lag >= 0, BACKGROUND_RATE * keep ** np.maximum(lag, 0), 0.0)
    weights[:, 0] = keep**t  # frame 0 seeds the background with weight 1
    return weights.astype(np.float32)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boolean masks [..., H, W] -> [...]; 1 where both are empty (they agree
    that nothing moves)."""
    union = np.logical_or(a, b).sum(axis=(-2, -1))
    inter = np.logical_and(a, b).sum(axis=(-2, -1))
    return np.where(union == 0, 1.0, inter / np.maximum(union, 1))


def _weighted_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Soft IoU sum(min) / sum(max) of two non-negative maps; 1 if both are zero."""
    union = np.maximum(a, b).sum()
    return 1.0 if union == 0 else float(np.minimum(a, b).sum() / union)


def measures(clip: np.ndarray, truth: np.ndarray, condition_frames: int) -> dict[str, float]:
    """The four measures of `clip` against `truth` over the frames after the conditioning.

    Both are uint8 [T, H, W, 3] at the case's size and frame rate, cut to the same length
    by the caller. The masks are seeded with frame condition_frames - 1 (the last frame
    the model was given), so frames condition_frames.. each have a mask of their own.
    """
    if clip.shape != truth.shape:
        raise ValueError(f"clip {clip.shape} and truth {truth.shape} must have the same shape")
    if not 1 <= condition_frames < len(truth):
        raise ValueError(
            f"condition_frames must be in [1, {len(truth) - 1}] for {len(truth)} frames; "
            f"got {condition_frames}"
        )
    seed = condition_frames - 1
    mask = motion_masks(clip[seed:])[1:]  # [T', H, W], T' = T - condition_frames
    true_mask = motion_masks(truth[seed:])[1:]  # [T', H, W]
    error = clip[condition_frames:].astype(np.float32) - truth[condition_frames:]  # [T', H, W, 3]
    return {
        "spatial_iou": float(_iou(mask.any(axis=0), true_mask.any(axis=0))),
        "spatiotemporal_iou": float(_iou(mask, true_mask).mean()),
        "weighted_spatial_iou": _weighted_iou(mask.mean(axis=0), true_mask.mean(axis=0)),
        "mse": float(np.mean(np.square(error / 255.0), dtype=np.float64)),
    }


def score(model: Sequence[dict], variance: Sequence[dict]) -> dict:
    """Physics-IQ's combination over a set of cases (one case gives that case's score).

    `model[i]` holds measures(clip, truth) of case i, `variance[i]` measures(second take,
    truth) of the same case. As in Physics-IQ, each measure is first averaged over the
    cases, then normalised (IoU / variance IoU; MSE - variance MSE), then combined:
    physics_iq = 100 * clip(mean of the normalised IoUs - normalised MSE, 0, 1).
    Returns {"cases", "model", "variance", "normalised", "physics_iq"}; the three middle
    entries map each of MEASURES to a float.
    """
    if len(model) != len(variance):
        raise ValueError(f"model ({len(model)}) and variance ({len(variance)}) cases differ")
    if not model:
        raise ValueError("score needs at least one case")
    mean_model = {k: float(np.mean([m[k] for m in model])) for k in MEASURES}
    mean_variance = {k: float(np.mean([v[k] for v in variance])) for k in MEASURES}
    normalised = {k: mean_model[k] / max(mean_variance[k], VARIANCE_FLOOR) for k in IOU_MEASURES}
    normalised["mse"] = mean_model["mse"] - mean_variance["mse"]
    combined = np.mean([normalised[k] for k in IOU_MEASURES]) - normalised["mse"]
    return {
        "cases": len(model),
        "model": mean_model,
        "variance": mean_variance,
        "normalised": normalised,
        "physics_iq": float(SCORE_CEILING * np.clip(combined, 0.0, 1.0)),
    }
