"""Data types shared by the physics world: the simulator, renderer, sound and captions.

Coordinates. The simulator works in *world* units (metres, y up, angles counter-clockwise).
Everything stored in a clip is in *pixel* coordinates of the stored video: x to the right,
y down, the centre of pixel (row i, column j) at (x=j, y=i), velocities in px/s. Angles stay
in radians, counter-clockwise as seen on screen. `Camera` converts between the two.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np

Shape = Literal["circle", "box"]
SplitTag = Literal["in_range", "out_of_range"]

# Columns of `Clip.states[t, n, :]`.
STATE_FIELDS = ("x", "y", "vx", "vy", "angle", "omega")  # px, px, px/s, px/s, rad, rad/s


@dataclasses.dataclass(frozen=True)
class RenderConfig:
    """How a scene becomes a clip: resolution, frame rate, length, audio rate."""

    width: int = 64
    height: int = 64
    fps: int = 16
    seconds: float = 2.0
    sample_rate: int = 16_000
    view_width_m: float = 8.0  # world metres across the frame; height follows the aspect
    ambient_noise: float = 0.002  # RMS of the ambient noise bed; 0 disables it
    substeps_per_frame: int = 64  # physics steps per video frame

    def __post_init__(self) -> None:
        for name in ("width", "height", "fps", "sample_rate", "substeps_per_frame"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"RenderConfig.{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.seconds <= 0:
            raise ValueError(f"RenderConfig.seconds must be > 0, got {self.seconds!r}")

    @property
    def num_frames(self) -> int:
        return int(round(self.seconds * self.fps))

    @property
    def num_samples(self) -> int:
        return int(round(self.num_frames / self.fps * self.sample_rate))

    @property
    def camera(self) -> Camera:
        return Camera(self.width, self.height, self.width / self.view_width_m)


@dataclasses.dataclass(frozen=True)
class Camera:
    """Side-view camera: world metres (y up) <-> pixel coordinates (y down, pixel centres at integers)."""

    width: int
    height: int
    pixels_per_meter: float

    @property
    def view_height_m(self) -> float:
        return self.height / self.pixels_per_meter

    def to_pixels(self, xy_m: np.ndarray) -> np.ndarray:
        """[..., 2] world metres -> [..., 2] pixel coordinates."""
        xy_m = np.asarray(xy_m, np.float64)
        x = xy_m[..., 0] * self.pixels_per_meter - 0.5
        y = (self.view_height_m - xy_m[..., 1]) * self.pixels_per_meter - 0.5
        return np.stack([x, y], axis=-1)

    def velocity_to_pixels(self, v_m: np.ndarray) -> np.ndarray:
        v_m = np.asarray(v_m, np.float64)
        return np.stack([v_m[..., 0], -v_m[..., 1]], axis=-1) * self.pixels_per_meter


@dataclasses.dataclass(frozen=True)
class ObjectInfo:
    """A dynamic object. Sizes are in world metres; `color` is its palette RGB."""

    name: str  # e.g. "ball", "ball_1", "block_0"
    shape: Shape
    size: tuple[float, ...]  # (radius,) for a circle, (width, height) for a box, metres
    mass: float
    material: str  # key of worldsim.physics.sound.MATERIALS
    color: tuple[int, int, int]


@dataclasses.dataclass(frozen=True)
class StaticInfo:
    """Static geometry (floor, walls, ramp, rim, backboard), drawn in grey tones."""

    name: str
    kind: Literal["segment", "circle"]
    points: tuple[tuple[float, float], ...]  # segment: (a, b); circle: (centre,), metres
    radius: float  # segment half-thickness or circle radius, metres
    material: str
    color: tuple[int, int, int]


@dataclasses.dataclass(frozen=True)
class Contact:
    """A new contact between two shapes whose impulse is loud enough to be heard."""

    frame: int  # video frame index the contact falls in: floor(time_s * fps)
    time_s: float  # seconds from the clip start
    object_a: str  # a dynamic object's name
    object_b: str  # a dynamic object's or static geometry's name
    impulse: float  # N*s, magnitude of the contact impulse at its first step


@dataclasses.dataclass
class Trajectory:
    """What the simulator returns: world-unit states sampled at each video frame."""

    objects: list[ObjectInfo]
    statics: list[StaticInfo]
    positions_m: np.ndarray  # [T, N, 2]
    velocities_m: np.ndarray  # [T, N, 2]
    angles: np.ndarray  # [T, N]
    angular_velocities: np.ndarray  # [T, N]
    contacts: list[Contact]
    outcome: str
    is_failure: bool
    params: dict[str, Any]
    gravity: float  # m/s^2, positive downwards
    scene_info: dict[str, float] = dataclasses.field(default_factory=dict)  # geometry, metres


@dataclasses.dataclass
class Clip:
    """One finished clip: the record the data pipeline stores (see DESIGN.md, "Clip record")."""

    video: np.ndarray  # uint8 [T, H, W, 3]
    audio: np.ndarray  # float32 [S] in [-1, 1]
    caption: str
    fps: int
    sample_rate: int
    family: str
    outcome: str
    is_failure: bool
    states: np.ndarray  # float32 [T, N, 6], columns STATE_FIELDS, pixel units
    visibility: np.ndarray  # float32 [T, N], share of the object's pixels visible in frame t
    objects: list[ObjectInfo]
    contacts: list[Contact]
    scene_params: dict[str, Any]  # sampled parameters, JSON-serialisable, plus pixels_per_meter
    split_tag: SplitTag
    seed: int
    statics: list[StaticInfo] = dataclasses.field(default_factory=list)  # world units
    scene_info: dict[str, float] = dataclasses.field(default_factory=dict)  # geometry, metres
