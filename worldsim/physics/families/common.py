"""What every scene family shares: materials, the floor, the `Scene` being built, the recording.

A family builds its bodies into a `Scene` (which names every shape, so contacts can be reported
by object name) and later reads its outcome off a `Recording` of the simulation. Keeping both
here lets `simulate.py` stay generic and the family modules stay short.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pymunk

from worldsim.physics import palette
from worldsim.physics.types import Contact, ObjectInfo, StaticInfo

# pymunk combines surfaces by multiplying them: elasticity = e_a * e_b, friction = f_a * f_b.
# material -> (elasticity, friction); sound synthesis is keyed by the same names.
MATERIALS: dict[str, tuple[float, float]] = {
    "rubber": (0.8, 0.9),
    "basketball": (0.85, 0.8),
    "wood": (0.35, 0.6),
    "metal": (0.6, 0.4),
    "concrete": (0.85, 0.9),
    "glass": (0.8, 0.3),
}

FLOOR_Y = 0.5  # m, top surface of the floor
FLOOR_HALF_THICKNESS = 0.25  # m: the floor fills the band y in [0, FLOOR_Y]
VIEW_WIDTH = 8.0  # m, the default camera's width; scenes are laid out for it
EDGE_WALL_HALF_THICKNESS = 0.1  # m; edge walls show as a thin grey strip at the frame's side

GRAVITY_IN_RANGE = (9.0, 10.6)  # m/s^2
GRAVITY_OUT_OF_RANGE = ((5.0, 7.0), (12.0, 16.0))  # held out for OOD evaluation


def uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A plain float (JSON-serialisable) drawn uniformly from [lo, hi)."""
    return float(rng.uniform(lo, hi))


def sample_gravity(rng: np.random.Generator, out_of_range: bool) -> float:
    """Gravity in m/s^2: around 9.81 in range, clearly weaker or stronger out of range."""
    if not out_of_range:
        return uniform(rng, *GRAVITY_IN_RANGE)
    band = GRAVITY_OUT_OF_RANGE[int(rng.integers(len(GRAVITY_OUT_OF_RANGE)))]
    return uniform(rng, *band)


def split_name(out_of_range: bool) -> str:
    return "out_of_range" if out_of_range else "in_range"


def add_thrown_ball(scene: Scene, params: dict, material: str) -> pymunk.Body:
    """The ball named "ball" launched from (start_x, start_y) at `angle_deg` and `speed`.

    Shared by the families whose scene is one projectile (throw, hoop); reads ball_radius,
    ball_mass and ball_elasticity from `params`.
    """
    a, v = np.radians(params["angle_deg"]), params["speed"]
    return scene.add_ball(
        "ball",
        params["ball_radius"],
        params["ball_mass"],
        material,
        (params["start_x"], params["start_y"]),
        (v * np.cos(a), v * np.sin(a)),
        elasticity=params["ball_elasticity"],
    )


def launch_speed(dx: float, dy: float, angle: float, gravity: float) -> float:
    """Speed at which a projectile launched at `angle` (rad) passes through (dx, dy).

    From y(x) = x tan(a) - g x^2 / (2 v^2 cos^2(a)); needs dx tan(a) > dy.
    """
    denom = 2.0 * np.cos(angle) ** 2 * (dx * np.tan(angle) - dy)
    if denom <= 0:
        raise ValueError(f"angle {angle:.3f} rad cannot reach ({dx:.2f}, {dy:.2f})")
    return float(np.sqrt(gravity * dx**2 / denom))


@dataclasses.dataclass
class Scene:
    """A family's scene under construction: pymunk bodies plus what the clip records about them."""

    space: pymunk.Space
    objects: list[ObjectInfo] = dataclasses.field(default_factory=list)
    statics: list[StaticInfo] = dataclasses.field(default_factory=list)
    bodies: list[pymunk.Body] = dataclasses.field(default_factory=list)  # one per object
    names: dict[pymunk.Shape, str] = dataclasses.field(default_factory=dict)
    info: dict[str, float] = dataclasses.field(default_factory=dict)  # geometry the outcome needs

    def _surface(self, shape: pymunk.Shape, material: str, elasticity, friction) -> None:
        e, f = MATERIALS[material]
        shape.elasticity = e if elasticity is None else elasticity
        shape.friction = f if friction is None else friction

    def add_ball(
        self,
        name: str,
        radius: float,
        mass: float,
        material: str,
        position: tuple[float, float],
        velocity: tuple[float, float] = (0.0, 0.0),
        angular_velocity: float = 0.0,
        elasticity: float | None = None,
        friction: float | None = None,
    ) -> pymunk.Body:
        """A solid disc; it takes the next palette colour."""
        body = pymunk.Body(mass, pymunk.moment_for_circle(mass, 0.0, radius))
        body.position = position
        body.velocity = velocity
        body.angular_velocity = angular_velocity
        shape = pymunk.Circle(body, radius)
        self._surface(shape, material, elasticity, friction)
        return self._add_dynamic(name, "circle", (radius,), mass, material, body, shape)

    def add_box(
        self,
        name: str,
        size: tuple[float, float],
        mass: float,
        material: str,
        position: tuple[float, float],
        angle: float = 0.0,
        velocity: tuple[float, float] = (0.0, 0.0),
        elasticity: float | None = None,
        friction: float | None = None,
    ) -> pymunk.Body:
        """A solid rectangle (width, height) centred on `position`; next palette colour."""
        body = pymunk.Body(mass, pymunk.moment_for_box(mass, size))
        body.position = position
        body.angle = angle
        body.velocity = velocity
        shape = pymunk.Poly.create_box(body, size)
        self._surface(shape, material, elasticity, friction)
        return self._add_dynamic(name, "box", tuple(size), mass, material, body, shape)

    def _add_dynamic(self, name, kind, size, mass, material, body, shape) -> pymunk.Body:
        color = palette.dynamic_color(len(self.objects))  # raises past MAX_OBJECTS
        self.objects.append(
            ObjectInfo(name, kind, tuple(float(s) for s in size), float(mass), material, color)
        )
        self.bodies.append(body)
        self.names[shape] = name
        self.space.add(body, shape)
        return body

    def add_segment(
        self,
        name: str,
        kind: str,
        a: tuple[float, float],
        b: tuple[float, float],
        half_thickness: float,
        material: str,
        elasticity: float | None = None,
        friction: float | None = None,
    ) -> pymunk.Segment:
        """Static segment (a thick line with round caps); `kind` is a palette.STATIC_COLORS key."""
        shape = pymunk.Segment(self.space.static_body, a, b, half_thickness)
        self._surface(shape, material, elasticity, friction)
        points = (tuple(map(float, a)), tuple(map(float, b)))
        self._add_static(
            StaticInfo(
                name,
                "segment",
                points,
                float(half_thickness),
                material,
                palette.STATIC_COLORS[kind],
            ),
            shape,
        )
        return shape

    def add_static_circle(
        self,
        name: str,
        kind: str,
        centre: tuple[float, float],
        radius: float,
        material: str,
        elasticity: float | None = None,
        friction: float | None = None,
    ) -> pymunk.Circle:
        """Static disc (e.g. one side of a hoop's rim)."""
        shape = pymunk.Circle(self.space.static_body, radius, offset=centre)
        self._surface(shape, material, elasticity, friction)
        info = StaticInfo(
            name,
            "circle",
            (tuple(map(float, centre)),),
            float(radius),
            material,
            palette.STATIC_COLORS[kind],
        )
        self._add_static(info, shape)
        return shape

    def _add_static(self, info: StaticInfo, shape: pymunk.Shape) -> None:
        self.statics.append(info)
        self.names[shape] = info.name
        self.space.add(shape)

    def add_floor(self, elasticity: float | None = None, friction: float | None = None) -> None:
        """Concrete floor, top at FLOOR_Y, reaching well past both sides of the view."""
        y = FLOOR_Y - FLOOR_HALF_THICKNESS
        self.add_segment(
            "floor",
            "floor",
            (-8.0, y),
            (16.0, y),
            FLOOR_HALF_THICKNESS,
            "concrete",
            elasticity,
            friction,
        )

    def add_edge_walls(self, elasticity: float | None = None) -> None:
        """Concrete walls at both sides of the view, so fast objects stay in frame."""
        t = EDGE_WALL_HALF_THICKNESS
        for name, x in (("wall_left", t / 2), ("wall_right", VIEW_WIDTH - t / 2)):
            self.add_segment(name, "wall", (x, FLOOR_Y - t), (x, 9.0), t, "concrete", elasticity)


@dataclasses.dataclass(frozen=True)
class Touch:
    """Any new touch between two shapes, audible or not (outcomes such as `hit` need quiet ones)."""

    time_s: float
    object_a: str  # dynamic
    object_b: str


@dataclasses.dataclass
class Recording:
    """What the simulator recorded, in world units; families read their outcome from it."""

    positions: np.ndarray  # [T, N, 2] at frame times k / fps
    velocities: np.ndarray  # [T, N, 2]
    angles: np.ndarray  # [T, N]
    angular_velocities: np.ndarray  # [T, N]
    substep_positions: np.ndarray  # [T * S + 1, N, 2], row j at time j * dt
    contacts: list[Contact]
    touches: list[Touch]
    fps: int
    dt: float
