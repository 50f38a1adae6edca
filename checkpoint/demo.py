"""The demo home: an issuing office and a station that trusts it, with sample passes of every kind.

Headless (no Textual, no OpenCV): `build_demo(root)` writes the office and the station and returns the
codes the sample camera feed should show; the CLI (`checkpoint demo`) renders that feed with
`scanner.synthetic`. Keys and pass ids are random; everything else is fixed, and the validity windows
are placed around the moment the demo is built so that "valid" passes are valid when it runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from .errors import CheckpointError
from .keys import Keyring, save_signed_trust, save_trust
from .models import Category
from .paths import Home
from .plates import display_plate
from .qrimage import write_png
from .registry import IssuedPass, PassRequest, Registry
from .revocations import save_list
from .timeutil import utcnow

OFFICE_NAME = "通山县大畈镇人民政府"
STATION_ID = "dafan-east"
STATION_NAME = "大畈镇东卡口"
OTHER_CHECKPOINT = "huangsha-north"
FEED_NAME = "feed.avi"
# The sample feed is paced like traffic at a barrier: a pass held up for a few seconds, then a gap while
# the next vehicle pulls up (longer than the station's verdict hold, so every verdict can be read).
FEED_FPS = 10.0
SHOW_SECONDS = 3.0
GAP_SECONDS = 6.0


def feed_pacing() -> tuple[int, int]:
    """Frames each code is in view, and frames of empty road after it, in the sample feed."""
    return round(SHOW_SECONDS * FEED_FPS), round(GAP_SECONDS * FEED_FPS)


# Codes a camera at a junction also sees: not passes, each must be a calm `not_a_pass` denial.
NOT_PASSES = (
    "https://weixin.qq.com/r/mJzX3bHEnYkHrRFb9xnp",
    "wxp://f2f0dW9kZW1vLXBheS1jb2RlLW5vdC1hLXBhc3M",
    "6901234567892",
)


@dataclass(frozen=True)
class Sample:
    """One sample pass: what it is meant to show at the station."""

    plate: str
    category: Category
    holder: str
    org: str
    occupants: int
    starts: int  # days from now (negative: in the past)
    ends: int
    expect: str  # the reason the station should give: ok, expired, revoked, wrong_checkpoint, ...
    checkpoints: tuple[str, ...] = ()


SAMPLES = (
    Sample("鄂L12001", Category.EMERGENCY, "陈建国", "通山县人民医院急救中心", 4, -3, 11, "ok"),
    Sample("鄂L12002", Category.EMERGENCY, "刘志强", "通山县消防救援大队", 6, -3, 11, "ok"),
    Sample("鄂L12003", Category.EMERGENCY, "王海涛", "大畈镇派出所", 4, -3, 11, "ok"),
    Sample("鄂L23001", Category.MEDICAL, "李秀英", "大畈镇卫生院", 2, -2, 12, "ok"),
    Sample("鄂L23002", Category.MEDICAL, "张丽华", "通山县人民医院", 3, -2, 12, "ok"),
    Sample("鄂L23003", Category.MEDICAL, "赵敏", "通山县中医院", 2, -2, 12, "ok"),
    Sample("鄂L23004", Category.MEDICAL, "周文斌", "通山县疾控中心", 3, -2, 12, "ok"),
    Sample("鄂L34001", Category.OFFICIAL, "吴德明", "大畈镇人民政府", 3, -1, 13, "ok"),
    Sample("鄂L34002", Category.OFFICIAL, "郑国华", "通山县农业农村局", 2, -1, 13, "ok"),
    Sample("鄂L34003", Category.OFFICIAL, "孙立新", "大畈镇供电所", 2, -1, 13, "ok"),
    Sample("鄂L34004", Category.OFFICIAL, "黄建平", "通山县交通运输局", 4, -1, 13, "ok"),
    Sample("鄂LD5001", Category.MEDICAL, "何小梅", "大畈镇卫生院", 1, -1, 6, "ok"),
    Sample("鄂A88123", Category.OFFICIAL, "林晓东", "县防控指挥部物资组", 2, -1, 6, "ok"),
    Sample("鄂L45001", Category.MEDICAL, "马红", "通山县人民医院", 2, -20, -6, "expired"),
    Sample("鄂L45002", Category.OFFICIAL, "高峰", "大畈镇人民政府", 3, -16, -2, "expired"),
    Sample("鄂L45003", Category.EMERGENCY, "罗军", "通山县人民医院急救中心", 4, -15, -1, "expired"),
    Sample("鄂L56001", Category.OFFICIAL, "梁勇", "大畈镇自来水厂", 2, -3, 11, "revoked"),
    Sample(
        "鄂L67001",
        Category.MEDICAL,
        "宋佳",
        "黄沙铺镇卫生院",
        2,
        -2,
        12,
        "wrong_checkpoint",
        (OTHER_CHECKPOINT,),
    ),
    Sample("鄂L78001", Category.OFFICIAL, "唐磊", "通山县应急管理局", 3, 2, 16, "not_yet_valid"),
    Sample("鄂L89001", Category.EMERGENCY, "韩冰", "大畈镇派出所", 4, -3, 11, "ok", (STATION_ID,)),
)


@dataclass(frozen=True)
class Demo:
    root: Path
    office: Home
    station: Home
    passes: tuple[tuple[Sample, IssuedPass], ...]

    @property
    def feed(self) -> Path:
        return self.root / FEED_NAME

    def feed_timeline(self) -> list[tuple[str, float, float]]:
        """(code, first second in view, last second in view) of each code of one loop of the feed."""
        show, gap = feed_pacing()
        return [
            (code, index * (show + gap) / FEED_FPS, (index * (show + gap) + show - 1) / FEED_FPS)
            for index, code in enumerate(self.feed_codes())
        ]

    def feed_codes(self) -> list[str]:
        """What the sample camera shows, in order: every pass, with the non-pass codes in between."""
        codes = [issued.payload for _, issued in self.passes]
        for index, text in enumerate(NOT_PASSES):
            codes.insert(4 + index * 6, text)
        return codes


def demo_exists(root: Path) -> bool:
    return Home(root / "station").is_configured() and (root / "station" / "config.toml").exists()


def build_demo(root: Path, *, now: datetime | None = None) -> Demo:
    """Write the office and the station of the demo under `root`. Refuses an existing demo."""
    if demo_exists(root):
        raise CheckpointError(
            f"There is already a demo in {root}; run it with `checkpoint --home {root}/station`."
        )
    if root.exists() and any(root.iterdir()):
        raise CheckpointError(f"{root} is not empty; give the demo a new folder.")
    moment = (now or utcnow()).replace(minute=0, second=0, microsecond=0)
    office = Home(root / "office").ensure()
    station = Home(root / "station").ensure()
    keyring = Keyring(office.office_keys, OFFICE_NAME)
    keyring.init(now=moment - timedelta(days=30))
    save_trust(office.trust, keyring.trust_list())
    office.config.write_text(f'demo = true\n\n[office]\nname = "{OFFICE_NAME}"\n', encoding="utf-8")
    registry = Registry(office.registry, keyring)
    issued: list[tuple[Sample, IssuedPass]] = []
    try:
        for sample in SAMPLES:
            request = PassRequest(
                plate=sample.plate,
                category=sample.category,
                holder=sample.holder,
                org=sample.org,
                valid_from=moment + timedelta(days=sample.starts),
                valid_until=moment + timedelta(days=sample.ends),
                checkpoints=sample.checkpoints,
                max_occupants=sample.occupants,
            )
            issued.append(
                (sample, registry.issue(request, now=moment + timedelta(days=min(sample.starts, 0) - 1)))
            )
        for sample, item in issued:
            if sample.expect == "revoked":
                registry.revoke(
                    item.data.pass_id, "车辆已转让 (vehicle sold)", now=moment - timedelta(hours=20)
                )
        rlist = registry.publish_revocations(OFFICE_NAME, office.revocations)
    finally:
        registry.close()
    cards = office.root / "cards"
    cards.mkdir(exist_ok=True)
    lines = []
    for sample, item in issued:
        write_png(item.payload, cards / f"{item.data.pass_id}-{sample.expect}.png", box_size=6)
        lines.append(
            f"{item.data.pass_id}  {display_plate(item.data.plate)}  {sample.expect}\n{item.payload}\n"
        )
    (root / "passes.txt").write_text(
        "# The demo passes: paste a line into the station's manual entry (or show the PNG in office/cards).\n"
        + "\n".join(lines),
        encoding="utf-8",
    )
    # The station takes the office's signed trust file, as a real one does (the demo built both sides, so
    # the fingerprint is confirmed by construction).
    save_signed_trust(station.trust, keyring.signed_trust(now=moment))
    save_list(station.revocations, rlist)
    station.config.write_text(
        "# The demo station (written by `checkpoint demo`).\n"
        "demo = true\n\n"
        "[station]\n"
        f'id = "{STATION_ID}"\n'
        f'name = "{STATION_NAME}"\n'
        "# The sample feed comes round again and again: warn (not deny) when a pass enters twice.\n"
        'anti_passback = "warn"\n'
        f"camera = {json.dumps(str((root / FEED_NAME).resolve()), ensure_ascii=False)}\n",
        encoding="utf-8",
    )
    return Demo(root, office, station, tuple(issued))
