"""Procedural street scenes for the `synthetic` dataset: sky, buildings, road, sidewalk, vegetation,
vehicles and people, with textures, noise, occlusion and varied lighting.

Colours are correlated with classes but overlap (grey buildings, roads and cars; green cars and
trees; blue-grey facades under a grey sky), so a model has to use shape, texture and context rather
than a colour lookup. Every random draw comes from the generator passed in, so a scene is a pure
function of (seed, height, width). No torch here.
"""

from __future__ import annotations

import cv2
import numpy as np

CLASS_NAMES = ("sky", "building", "road", "sidewalk", "vegetation", "vehicle", "person")
PALETTE = (
    (70, 130, 180),
    (70, 70, 70),
    (128, 64, 128),
    (244, 35, 232),
    (107, 142, 35),
    (0, 0, 142),
    (220, 20, 60),
)
SKY, BUILDING, ROAD, SIDEWALK, VEGETATION, VEHICLE, PERSON = range(7)

_SKY_TOPS = ((90, 150, 230), (150, 160, 170), (230, 150, 110), (120, 170, 220))
_FACADES = ((150, 150, 150), (190, 175, 150), (150, 80, 60), (110, 90, 80), (120, 140, 160))
_SKINS = ((230, 190, 160), (190, 140, 100), (120, 80, 60))


class Canvas:
    """An RGB float image and its label mask, painted together shape by shape."""

    def __init__(self, rng: np.random.Generator, height: int, width: int) -> None:
        self.rng, self.h, self.w = rng, height, width
        self.image = np.zeros((height, width, 3), np.float32)
        self.mask = np.zeros((height, width), np.uint8)

    def noise(self, cells: int, channels: int = 1) -> np.ndarray:
        """Smooth noise in [0, 1], shape (H, W) or (H, W, C), with about `cells` blobs across."""
        small = self.rng.random((max(cells, 2), max(cells, 2), channels)).astype(np.float32)
        big = cv2.resize(small, (self.w, self.h), interpolation=cv2.INTER_CUBIC)
        return big.reshape(self.h, self.w, channels) if channels > 1 else big.reshape(self.h, self.w)

    def paint(self, region: np.ndarray, label: int, texture: np.ndarray) -> None:
        """Copy `texture` (H, W, 3) into the boolean `region` and label it."""
        self.image[region] = texture[region]
        self.mask[region] = label

    def shape(self, draw) -> np.ndarray:
        """A boolean region drawn by `draw(canvas_uint8)` with OpenCV primitives (value 1)."""
        layer = np.zeros((self.h, self.w), np.uint8)
        draw(layer)
        return layer.astype(bool)

    def flat(self, colour, spread: float = 12.0, cells: int = 6) -> np.ndarray:
        """A colour with smooth variation and fine grain."""
        base = np.asarray(colour, np.float32) + self.rng.normal(0, spread, 3)
        smooth = (self.noise(cells) - 0.5)[..., None] * spread * 2
        grain = self.rng.normal(0, spread / 3, (self.h, self.w, 1)).astype(np.float32)
        return base + smooth + grain


def _sky(c: Canvas, horizon: int) -> None:
    top = np.asarray(_SKY_TOPS[c.rng.integers(len(_SKY_TOPS))], np.float32) + c.rng.normal(0, 10, 3)
    bottom = top * 0.6 + 255 * 0.4
    t = np.linspace(0, 1, c.h, dtype=np.float32)[:, None, None]
    gradient = np.broadcast_to(top * (1 - t) + bottom * t, (c.h, c.w, 3))
    clouds = np.clip(c.noise(4) * 1.8 - 0.9, 0, 1)[..., None] * c.rng.uniform(0, 70)
    c.paint(np.ones((c.h, c.w), bool), SKY, gradient + clouds)
    del horizon


def _buildings(c: Canvas, horizon: int) -> None:
    x = int(-c.rng.uniform(0, 0.1) * c.w)
    while x < c.w:
        width = int(c.rng.uniform(0.3, 0.6) * c.w)
        if c.rng.random() < 0.1:  # a gap showing the sky
            x += width
            continue
        top = int(c.rng.uniform(0.3, 0.8) * horizon)  # some sky above every building
        facade = c.flat(_FACADES[c.rng.integers(len(_FACADES))], spread=18)
        rows = (np.arange(c.h) - top) % max(4, c.h // 14) < max(2, c.h // 28)
        cols = (np.arange(c.w) - x) % max(4, c.w // 12) < max(2, c.w // 24)
        windows = rows[:, None] & cols[None, :]
        facade[windows] *= c.rng.uniform(0.35, 0.7)
        region = c.shape(
            lambda layer, x=x, w=width, t=top: cv2.rectangle(layer, (x, t), (x + w, horizon + 2), 1, -1)
        )
        c.paint(region, BUILDING, facade)
        x += width


def _ground(c: Canvas, horizon: int) -> tuple[int, int]:
    """Sidewalk everywhere below the horizon, then the road as a perspective trapezoid."""
    tiles = c.flat((170, 165, 160) if c.rng.random() < 0.7 else (180, 120, 110), spread=14)
    yy, xx = np.mgrid[0 : c.h, 0 : c.w]
    grid = ((yy % max(3, c.h // 16)) == 0) | ((xx % max(3, c.w // 10)) == 0)
    tiles[grid] *= 0.75
    ground = np.zeros((c.h, c.w), bool)
    ground[horizon:] = True
    c.paint(ground, SIDEWALK, tiles)
    vanish = int(c.rng.uniform(0.35, 0.65) * c.w)
    left = int(c.rng.uniform(-0.6, 0.15) * c.w)
    right = int(c.rng.uniform(0.85, 1.6) * c.w)
    road = c.flat((85, 85, 90), spread=10, cells=10)
    lane = np.abs(xx - (vanish + (yy - horizon) * ((left + right) / 2 - vanish) / max(c.h - horizon, 1)))
    dashes = (lane < 1 + (yy - horizon) * 0.03) & ((yy // max(2, c.h // 20)) % 2 == 0) & (yy > horizon)
    road[dashes] = (230, 220, 160) if c.rng.random() < 0.3 else (235, 235, 235)
    polygon = np.array([[vanish - 2, horizon], [vanish + 2, horizon], [right, c.h], [left, c.h]], np.int32)
    c.paint(c.shape(lambda layer: cv2.fillPoly(layer, [polygon], 1)), ROAD, road)
    return left, right


def _tree(c: Canvas, base_y: int, scale: float) -> None:
    x = int(c.rng.uniform(0, c.w))
    height = int(scale * c.rng.uniform(0.45, 0.8) * c.h)
    trunk_w = max(2, height // 10)
    hue = (60, 110, 40) if c.rng.random() < 0.8 else (170, 140, 50)
    leaves = c.flat(hue, spread=22, cells=12)
    leaves *= 0.7 + 0.6 * c.noise(c.w // 3)[..., None]
    leaves[..., :] += c.rng.normal(0, 10, (c.h, c.w, 1)).astype(np.float32)
    trunk = c.flat((90, 70, 50), spread=10)
    top = base_y - height

    def crown(layer):
        for _ in range(5):
            cx = x + int(c.rng.normal(0, height * 0.18))
            cy = top + int(c.rng.uniform(0.15, 0.5) * height)
            cv2.ellipse(layer, (cx, cy), (int(height * 0.28), int(height * 0.22)), 0, 0, 360, 1, -1)

    trunk_region = c.shape(
        lambda layer: cv2.rectangle(
            layer, (x - trunk_w // 2, top + height // 2), (x + trunk_w // 2, base_y), 1, -1
        )
    )
    c.paint(trunk_region, VEGETATION, trunk)
    c.paint(c.shape(crown), VEGETATION, leaves)


def _vehicle(c: Canvas, base_y: int, scale: float) -> None:
    width = int(scale * c.rng.uniform(0.3, 0.5) * c.w)
    height = int(width * c.rng.uniform(0.45, 0.7))
    x = int(c.rng.uniform(-0.2, 0.9) * c.w)
    top = base_y - height
    paint_colour = c.rng.integers(0, 256, 3) if c.rng.random() < 0.6 else np.full(3, c.rng.integers(20, 235))
    body = c.flat(paint_colour, spread=8)
    shine = np.linspace(1.15, 0.8, c.h, dtype=np.float32)[:, None, None]
    body *= shine
    cabin_top, cabin_in = top, int(width * c.rng.uniform(0.12, 0.25))
    belt = top + int(height * c.rng.uniform(0.35, 0.5))
    glass = c.flat((50, 60, 70), spread=10)
    wheel_r = max(2, height // 5)
    outline = np.array(
        [
            [x, base_y - wheel_r],
            [x, belt],
            [x + cabin_in, cabin_top],
            [x + width - cabin_in, cabin_top],
            [x + width, belt],
            [x + width, base_y - wheel_r],
        ],
        np.int32,
    )
    c.paint(c.shape(lambda layer: cv2.fillPoly(layer, [outline], 1)), VEHICLE, body)
    pane = np.array(
        [
            [x + cabin_in + 2, cabin_top + 2],
            [x + width - cabin_in - 2, cabin_top + 2],
            [x + width - 3, belt - 1],
            [x + 3, belt - 1],
        ],
        np.int32,
    )
    c.paint(c.shape(lambda layer: cv2.fillPoly(layer, [pane], 1)), VEHICLE, glass)
    tyres = c.flat((25, 25, 25), spread=5)
    for wx in (x + width // 5, x + width - width // 5):
        c.paint(
            c.shape(lambda layer, wx=wx: cv2.circle(layer, (wx, base_y - wheel_r), wheel_r, 1, -1)),
            VEHICLE,
            tyres,
        )


def _person(c: Canvas, base_y: int, scale: float) -> None:
    height = int(scale * c.rng.uniform(0.42, 0.65) * c.h)
    width = int(height * c.rng.uniform(0.36, 0.46))
    x = int(c.rng.uniform(0.05, 0.95) * c.w)
    head_r = max(2, height // 9)
    top = base_y - height
    skin = c.flat(_SKINS[c.rng.integers(len(_SKINS))], spread=8)
    shirt = c.flat(c.rng.integers(0, 256, 3), spread=14, cells=4)
    trousers = c.flat(c.rng.integers(10, 160, 3), spread=10)
    hip = top + int(height * 0.55)
    stride = int(width * c.rng.uniform(0.0, 0.3))
    legs = np.array(
        [
            [x - width // 3 - stride, base_y],
            [x - width // 4, hip],
            [x + width // 4, hip],
            [x + width // 3 + stride, base_y],
            [x + width // 10, base_y],
            [x, hip + height // 8],
            [x - width // 10, base_y],
        ],
        np.int32,
    )
    c.paint(c.shape(lambda layer: cv2.fillPoly(layer, [legs], 1)), PERSON, trousers)
    torso = (x - width // 2, top + 2 * head_r, x + width // 2, hip + 2)
    c.paint(c.shape(lambda layer: cv2.rectangle(layer, torso[:2], torso[2:], 1, -1)), PERSON, shirt)
    c.paint(c.shape(lambda layer: cv2.circle(layer, (x, top + head_r), head_r, 1, -1)), PERSON, skin)


def _objects(c: Canvas, horizon: int) -> None:
    """Trees, vehicles and people, drawn far to near so nearer objects occlude farther ones."""
    kinds = [_tree] * int(c.rng.integers(1, 3)) + [_vehicle] * int(c.rng.integers(1, 3))
    kinds += [_person] * int(c.rng.integers(1, 3))
    placed = []
    for draw in kinds:
        depth = c.rng.uniform(0.35, 1.0)  # 0 = at the horizon, 1 = at the bottom edge
        placed.append((depth, draw))
    for depth, draw in sorted(placed, key=lambda pair: pair[0]):
        base_y = int(horizon + depth * (c.h - horizon))
        draw(c, base_y, 0.8 + 0.5 * depth)


def _lighting(c: Canvas) -> np.ndarray:
    """Global exposure, colour cast, a soft shadow, sensor noise and a slight blur; uint8 RGB."""
    image = c.image * c.rng.uniform(0.75, 1.15) * c.rng.uniform(0.9, 1.1, 3).astype(np.float32)
    if c.rng.random() < 0.3:
        image *= (1.0 - 0.35 * (c.noise(3) > 0.6).astype(np.float32))[..., None]
    image += c.rng.normal(0, c.rng.uniform(2, 6), image.shape).astype(np.float32)
    image = cv2.GaussianBlur(image, (3, 3), c.rng.uniform(0.3, 0.9))
    return np.clip(image, 0, 255).astype(np.uint8)


def generate_scene(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """One street scene: (H x W x 3 uint8 RGB image, H x W uint8 mask of class ids 0..6)."""
    if height < 16 or width < 16:
        raise ValueError(f"synthetic scenes need at least 16x16 pixels, got {height}x{width}")
    c = Canvas(rng, height, width)
    horizon = int(rng.uniform(0.35, 0.55) * height)
    _sky(c, horizon)
    _buildings(c, horizon)
    _ground(c, horizon)
    _objects(c, horizon)
    return _lighting(c), c.mask
