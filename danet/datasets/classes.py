"""Class names and palettes of the public datasets, transcribed from the reference tables.

Each table is `name: R G B` per line in train-id order (line i = class i). The PASCAL Context rows
start with the 459-class source id, the COCO-Stuff rows with the raw PNG value; both give the label
mapping. `check_tables()` verifies counts and mappings; the tests call it. No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass

# Cityscapes 19 train classes (cityscapesScripts labels.py / mmseg cityscapes.py).
_CITYSCAPES = """
road: 128 64 128
sidewalk: 244 35 232
building: 70 70 70
wall: 102 102 156
fence: 190 153 153
pole: 153 153 153
traffic light: 250 170 30
traffic sign: 220 220 0
vegetation: 107 142 35
terrain: 152 251 152
sky: 70 130 180
person: 220 20 60
rider: 255 0 0
car: 0 0 142
truck: 0 0 70
bus: 0 60 100
train: 0 80 100
motorcycle: 0 0 230
bicycle: 119 11 32
"""

# ADE20K SceneParsing 150 classes, train index = raw PNG value - 1 (mmseg ade.py).
_ADE20K = """
wall: 120 120 120
building: 180 120 120
sky: 6 230 230
floor: 80 50 50
tree: 4 200 3
ceiling: 120 120 80
road: 140 140 140
bed: 204 5 255
windowpane: 230 230 230
grass: 4 250 7
cabinet: 224 5 255
sidewalk: 235 255 7
person: 150 5 61
earth: 120 120 70
door: 8 255 51
table: 255 6 82
mountain: 143 255 140
plant: 204 255 4
curtain: 255 51 7
chair: 204 70 3
car: 0 102 200
water: 61 230 250
painting: 255 6 51
sofa: 11 102 255
shelf: 255 7 71
house: 255 9 224
sea: 9 7 230
mirror: 220 220 220
rug: 255 9 92
field: 112 9 255
armchair: 8 255 214
seat: 7 255 224
fence: 255 184 6
desk: 10 255 71
rock: 255 41 10
wardrobe: 7 255 255
lamp: 224 255 8
bathtub: 102 8 255
railing: 255 61 6
cushion: 255 194 7
base: 255 122 8
box: 0 255 20
column: 255 8 41
signboard: 255 5 153
chest of drawers: 6 51 255
counter: 235 12 255
sand: 160 150 20
sink: 0 163 255
skyscraper: 140 140 140
fireplace: 250 10 15
refrigerator: 20 255 0
grandstand: 31 255 0
path: 255 31 0
stairs: 255 224 0
runway: 153 255 0
case: 0 0 255
pool table: 255 71 0
pillow: 0 235 255
screen door: 0 173 255
stairway: 31 0 255
river: 11 200 200
bridge: 255 82 0
bookcase: 0 255 245
blind: 0 61 255
coffee table: 0 255 112
toilet: 0 255 133
flower: 255 0 0
book: 255 163 0
hill: 255 102 0
bench: 194 255 0
countertop: 0 143 255
stove: 51 255 0
palm: 0 82 255
kitchen island: 0 255 41
computer: 0 255 173
swivel chair: 10 0 255
boat: 173 255 0
bar: 0 255 153
arcade machine: 255 92 0
hovel: 255 0 255
bus: 255 0 245
towel: 255 0 102
light: 255 173 0
truck: 255 0 20
tower: 255 184 184
chandelier: 0 31 255
awning: 0 255 61
streetlight: 0 71 255
booth: 255 0 204
television receiver: 0 255 194
airplane: 0 255 82
dirt track: 0 10 255
apparel: 0 112 255
pole: 51 0 255
land: 0 194 255
bannister: 0 122 255
escalator: 0 255 163
ottoman: 255 153 0
bottle: 0 255 10
buffet: 255 112 0
poster: 143 255 0
stage: 82 0 255
van: 163 255 0
ship: 255 235 0
fountain: 8 184 170
conveyer belt: 133 0 255
canopy: 0 255 92
washer: 184 0 255
plaything: 255 0 31
swimming pool: 0 184 255
stool: 0 214 255
barrel: 255 0 112
basket: 92 255 0
waterfall: 0 224 255
tent: 112 224 255
bag: 70 184 160
minibike: 163 0 255
cradle: 153 0 255
oven: 71 255 0
ball: 255 0 163
food: 255 204 0
step: 255 0 143
tank: 0 255 235
trade name: 133 255 0
microwave: 255 0 235
pot: 245 0 255
animal: 255 0 122
bicycle: 255 245 0
lake: 10 190 212
dishwasher: 214 255 0
screen: 0 204 255
blanket: 20 0 255
sculpture: 255 255 0
hood: 0 153 255
sconce: 0 41 255
vase: 0 255 204
traffic light: 41 0 255
tray: 41 255 0
ashcan: 173 0 255
fan: 0 245 255
pier: 71 0 255
crt screen: 122 0 255
plate: 0 255 184
monitor: 0 92 255
bulletin board: 184 255 0
shower: 0 133 255
radiator: 255 214 0
glass: 25 194 194
clock: 102 255 0
flag: 92 0 255
"""

# PASCAL VOC 2012, 21 classes; the palette is the bit-interleaved VOC colour map.
_VOC = """
background: 0 0 0
aeroplane: 128 0 0
bicycle: 0 128 0
bird: 128 128 0
boat: 0 0 128
bottle: 128 0 128
bus: 0 128 128
car: 128 128 128
cat: 64 0 0
chair: 192 0 0
cow: 64 128 0
diningtable: 192 128 0
dog: 64 0 128
horse: 192 0 128
motorbike: 64 128 128
person: 192 128 128
pottedplant: 0 64 0
sheep: 128 64 0
sofa: 0 192 0
train: 128 192 0
tvmonitor: 0 64 128
"""

# PASCAL Context 60 classes as `id459: name: R G B` (mmseg pascal_context.py).
_CONTEXT = """
0: background: 120 120 120
2: aeroplane: 180 120 120
9: bag: 6 230 230
18: bed: 80 50 50
19: bedclothes: 4 200 3
22: bench: 120 120 80
23: bicycle: 140 140 140
25: bird: 204 5 255
31: boat: 230 230 230
33: book: 4 250 7
34: bottle: 224 5 255
44: building: 235 255 7
45: bus: 150 5 61
46: cabinet: 120 120 70
59: car: 8 255 51
65: cat: 255 6 82
68: ceiling: 143 255 140
72: chair: 204 255 4
80: cloth: 255 51 7
85: computer: 204 70 3
98: cow: 0 102 200
104: cup: 61 230 250
105: curtain: 255 6 51
113: dog: 11 102 255
115: door: 255 7 71
144: fence: 255 9 224
158: floor: 9 7 230
159: flower: 220 220 220
162: food: 255 9 92
187: grass: 112 9 255
189: ground: 8 255 214
207: horse: 7 255 224
220: keyboard: 255 184 6
232: light: 10 255 71
258: motorbike: 255 41 10
259: mountain: 7 255 255
260: mouse: 224 255 8
284: person: 102 8 255
295: plate: 255 61 6
296: platform: 255 194 7
308: pottedplant: 255 122 8
324: road: 0 255 20
326: rock: 255 8 41
347: sheep: 255 5 153
349: shelves: 6 51 255
354: sidewalk: 235 12 255
355: sign: 160 150 20
360: sky: 0 163 255
366: snow: 140 140 140
368: sofa: 250 10 15
397: table: 20 255 0
415: track: 31 255 0
416: train: 255 31 0
420: tree: 255 224 0
424: truck: 153 255 0
427: tvmonitor: 0 0 255
440: wall: 255 71 0
445: water: 0 235 255
454: window: 0 173 255
458: wood: 31 0 255
"""

# COCO-Stuff 171 classes as `raw PNG value: name: R G B` (mmseg coco_stuff.py).
_COCO_STUFF = """
0: person: 0 192 64
1: bicycle: 0 192 64
2: car: 0 64 96
3: motorcycle: 128 192 192
4: airplane: 0 64 64
5: bus: 0 192 224
6: train: 0 192 192
7: truck: 128 192 64
8: boat: 0 192 96
9: traffic light: 128 192 64
10: fire hydrant: 128 32 192
12: stop sign: 0 0 224
13: parking meter: 0 0 64
14: bench: 0 160 192
15: bird: 128 0 96
16: cat: 128 0 192
17: dog: 0 32 192
18: horse: 128 128 224
19: sheep: 0 0 192
20: cow: 128 160 192
21: elephant: 128 128 0
22: bear: 128 0 32
23: zebra: 128 32 0
24: giraffe: 128 0 128
26: backpack: 64 128 32
27: umbrella: 0 160 0
30: handbag: 0 0 0
31: tie: 192 128 160
32: suitcase: 0 32 0
33: frisbee: 0 128 128
34: skis: 64 128 160
35: snowboard: 128 160 0
36: sports ball: 0 128 0
37: kite: 192 128 32
38: baseball bat: 128 96 128
39: baseball glove: 0 0 128
40: skateboard: 64 0 32
41: surfboard: 0 224 128
42: tennis racket: 128 0 0
43: bottle: 192 0 160
45: wine glass: 0 96 128
46: cup: 128 128 128
47: fork: 64 0 160
48: knife: 128 224 128
49: spoon: 128 128 64
50: bowl: 192 0 32
51: banana: 128 96 0
52: apple: 128 0 192
53: sandwich: 0 128 32
54: orange: 64 224 0
55: broccoli: 0 0 64
56: carrot: 128 128 160
57: hot dog: 64 96 0
58: pizza: 0 128 192
59: donut: 0 128 160
60: cake: 192 224 0
61: chair: 0 128 64
62: couch: 128 128 32
63: potted plant: 192 32 128
64: bed: 0 64 192
66: dining table: 0 0 32
69: toilet: 64 160 128
71: tv: 128 64 64
72: laptop: 128 0 160
73: mouse: 64 32 128
74: remote: 128 192 192
75: keyboard: 0 0 160
76: cell phone: 192 160 128
77: microwave: 128 192 0
78: oven: 128 0 96
79: toaster: 192 32 0
80: sink: 128 64 128
81: refrigerator: 64 128 96
83: book: 64 160 0
84: clock: 0 64 0
85: vase: 192 128 224
86: scissors: 64 32 0
87: teddy bear: 0 192 128
88: hair drier: 64 128 224
89: toothbrush: 192 160 0
91: banner: 0 192 0
92: blanket: 192 128 96
93: branch: 192 96 128
94: bridge: 0 64 128
95: building-other: 64 0 96
96: bush: 64 224 128
97: cabinet: 128 64 0
98: cage: 192 0 224
99: cardboard: 64 96 128
100: carpet: 128 192 128
101: ceiling-other: 64 0 224
102: ceiling-tile: 192 224 128
103: cloth: 128 192 64
104: clothes: 192 0 96
105: clouds: 192 96 0
106: counter: 128 64 192
107: cupboard: 0 128 96
108: curtain: 0 224 0
109: desk-stuff: 64 64 64
110: dirt: 128 128 224
111: door-stuff: 0 96 0
112: fence: 64 192 192
113: floor-marble: 0 128 224
114: floor-other: 128 224 0
115: floor-stone: 64 192 64
116: floor-tile: 128 128 96
117: floor-wood: 128 32 128
118: flower: 64 0 192
119: fog: 0 64 96
120: food-other: 0 160 128
121: fruit: 192 0 64
122: furniture-other: 128 64 224
123: grass: 0 32 128
124: gravel: 192 128 192
125: ground-other: 0 64 224
126: hill: 128 160 128
127: house: 192 128 0
128: leaves: 128 64 32
129: light: 128 32 64
130: mat: 192 0 128
131: metal: 64 192 32
132: mirror-stuff: 0 160 64
133: moss: 64 0 0
134: mountain: 192 192 160
135: mud: 0 32 64
136: napkin: 64 128 128
137: net: 64 192 160
138: paper: 128 160 64
139: pavement: 64 128 0
140: pillow: 192 192 32
141: plant-other: 128 96 192
142: plastic: 64 0 128
143: platform: 64 64 32
144: playingfield: 0 224 192
145: railing: 192 0 0
146: railroad: 192 64 160
147: river: 0 96 192
148: road: 192 128 128
149: rock: 64 64 160
150: roof: 128 224 192
151: rug: 192 128 64
152: salad: 192 64 32
153: sand: 128 96 64
154: sea: 192 0 192
155: shelf: 0 192 32
156: sky-other: 64 224 64
157: skyscraper: 64 0 64
158: snow: 128 192 160
159: solid-other: 64 96 64
160: stairs: 64 128 192
161: stone: 0 192 160
162: straw: 192 224 64
163: structural-other: 64 128 64
164: table: 128 192 32
165: tent: 192 32 192
166: textile-other: 64 64 192
167: towel: 0 64 32
168: tree: 64 160 192
169: vegetable: 192 64 64
170: wall-brick: 128 64 160
171: wall-concrete: 64 32 192
172: wall-other: 192 192 192
173: wall-panel: 0 64 160
174: wall-stone: 192 160 192
175: wall-tile: 192 192 0
176: wall-wood: 128 64 96
177: water-other: 192 32 64
178: waterdrops: 192 64 128
179: window-blind: 64 192 96
180: window-other: 64 160 64
181: wood: 64 64 0
"""

# Cityscapes labelId (index 0..33) -> trainId, from the trainId column of labels.py; 255 = ignored.
CITYSCAPES_LABEL_TO_TRAIN = (
    (255,) * 7
    + (0, 1, 255, 255, 2, 3, 4, 255, 255, 255, 5, 255, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    + (255, 255, 16, 17, 18)
)
# trainId -> labelId, for Cityscapes test-server submissions.
CITYSCAPES_TRAIN_TO_LABEL = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)
# COCO-Stuff raw PNG values (labels.txt id - 1) of the 11 thing classes that never occur.
COCO_STUFF_DROPPED = (11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90)


@dataclass(frozen=True)
class ClassTable:
    """Names and RGB colours in train-id order, plus the source ids for tables that carry them."""

    names: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...]
    source_ids: tuple[int, ...] = ()


def _table(text: str, with_ids: bool = False) -> ClassTable:
    names, colours, ids = [], [], []
    for line in text.strip().splitlines():
        if with_ids:
            source, line = line.split(":", 1)
            ids.append(int(source))
        name, rgb = line.rsplit(":", 1)
        red, green, blue = (int(v) for v in rgb.split())
        names.append(name.strip())
        colours.append((red, green, blue))
    return ClassTable(tuple(names), tuple(colours), tuple(ids))


def voc_colormap(size: int = 256) -> tuple[tuple[int, int, int], ...]:
    """The PASCAL VOC bit-interleaved colour map (index 255 is the border colour (224, 224, 192))."""
    colours = []
    for index in range(size):
        red = green = blue = 0
        value = index
        for shift in range(7, -1, -1):
            red |= (value & 1) << shift
            green |= ((value >> 1) & 1) << shift
            blue |= ((value >> 2) & 1) << shift
            value >>= 3
        colours.append((red, green, blue))
    return tuple(colours)


CITYSCAPES = _table(_CITYSCAPES)
ADE20K = _table(_ADE20K)
VOC = _table(_VOC)
PASCAL_CONTEXT = _table(_CONTEXT, with_ids=True)
PASCAL_CONTEXT59 = ClassTable(PASCAL_CONTEXT.names[1:], PASCAL_CONTEXT.palette[1:])
COCO_STUFF = _table(_COCO_STUFF, with_ids=True)


def check_tables() -> None:
    """Raise `AssertionError` if a table disagrees with the facts it was transcribed from."""
    expected = {"cityscapes": 19, "ade20k": 150, "voc": 21, "context": 60, "coco": 171}
    tables = {
        "cityscapes": CITYSCAPES,
        "ade20k": ADE20K,
        "voc": VOC,
        "context": PASCAL_CONTEXT,
        "coco": COCO_STUFF,
    }
    for key, table in tables.items():
        if not len(table.names) == len(table.palette) == expected[key]:
            raise AssertionError(f"{key}: {len(table.names)} names for {expected[key]} classes")
        if len(set(table.names)) != len(table.names):
            raise AssertionError(f"{key}: repeated class names")
    if len(CITYSCAPES_LABEL_TO_TRAIN) != 34:
        raise AssertionError("cityscapes labelId table must cover ids 0..33")
    for train_id, label_id in enumerate(CITYSCAPES_TRAIN_TO_LABEL):
        if CITYSCAPES_LABEL_TO_TRAIN[label_id] != train_id:
            raise AssertionError(f"cityscapes trainId {train_id} does not round-trip")
    if VOC.palette != voc_colormap(21):
        raise AssertionError("voc palette differs from the bit-interleaved colour map")
    context_ids = PASCAL_CONTEXT.source_ids
    if context_ids[0] != 0 or list(context_ids) != sorted(set(context_ids)) or context_ids[-1] > 459:
        raise AssertionError("pascal context source ids must be sorted, unique, 0..459")
    kept = tuple(v for v in range(182) if v not in COCO_STUFF_DROPPED)
    if COCO_STUFF.source_ids != kept:
        raise AssertionError("coco-stuff raw values must be 0..181 minus the 11 dropped ids")
