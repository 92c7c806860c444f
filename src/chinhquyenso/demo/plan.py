"""What the demo contains, computed without touching the database.

`build_plan(seed)` returns the same organisations, officials and applicants for the same seed on
every machine: every random value comes from one `random.Random(seed)`, drawn in a fixed order.
`generator.load` then writes the plan through the core services.

The province is Lâm Đồng after the 2025 reform (merged with Đắk Nông and Bình Thuận; two-tier
local government from 01/07/2025, DOMAIN.md §7).

Organisation codes follow QCVN 102:2016/BTTTT, `V1V2V3.Z1Z2.Y1Y2.MX1X2` read right to left
(DOMAIN.md §2.1):
- `000.00.00.H39`  UBND tỉnh. H codes are not derived from anything: a real installation loads
  them from the official list. H39 is this demo's choice for Lâm Đồng.
- `000.00.NN.H39`  level 2: Văn phòng UBND tỉnh (01) and the Sở (02–11).
- `000.MM.NN.H39`  level 3: a unit of a level-2 body (the provincial centre under the Văn phòng,
  the phòng of a Sở).
- `000.CC.39.H39`  level 3: UBND xã/phường CC. Level-2 value 39 is a block this demo reserves for
  commune committees: districts are gone since 01/07/2025 and how the official list re-codes
  communes is an open question (DOMAIN.md §2.2).
- `UUU.CC.39.H39`  level 4: the units of commune CC (its centre and phòng).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from chinhquyenso.core.models import Role, UserKind
from chinhquyenso.core.models.organisations import OrganisationKind
from chinhquyenso.demo.names import HIGHLAND_COMMUNES, person_name, split_list

DEFAULT_SEED = 20250701
PROVINCE_UNIT = "Lâm Đồng"
EMAIL_DOMAIN = "lamdong.gov.vn"
PROVINCE_CODE = "000.00.00.H39"
REFORM_DATE = dt.date(2025, 7, 1)

# Fixed-line area codes of the three provinces merged into Lâm Đồng.
AREA_CODES = {"lamdong": "0263", "binhthuan": "0252", "daknong": "0261"}

# (key used in usernames, administrative-unit name in vietnam-provinces, former province).
# The first two are the communes the README walks through.
COMMUNES: tuple[tuple[str, str, str], ...] = (
    ("donduong", "Xã Đơn Dương", "lamdong"),
    ("dran", "Xã D'Ran", "lamdong"),
    ("kado", "Xã Ka Đô", "lamdong"),
    ("lacduong", "Xã Lạc Dương", "lamdong"),
    ("ductrong", "Xã Đức Trọng", "lamdong"),
    ("dilinh", "Xã Di Linh", "lamdong"),
    ("xuanhuong", "Phường Xuân Hương - Đà Lạt", "lamdong"),
    ("blao", "Phường B'Lao", "lamdong"),
    ("phanthiet", "Phường Phan Thiết", "binhthuan"),
    ("bacgianghia", "Phường Bắc Gia Nghĩa", "daknong"),
)
# Fully staffed communes (two deputies, two desk officers, a specialist in each phòng).
SHOWCASE_COMMUNES = frozenset({"donduong", "dran"})

# The main Sở after the 2025 mergers: (key, name, short name, specialised phòng, has a
# specialist). Every Sở also has its Văn phòng (e.g. "Văn phòng Sở Tư pháp").
DEPARTMENTS: tuple[tuple[str, str, str, tuple[tuple[str, str], ...], bool], ...] = (
    ("sotuphap", "Sở Tư pháp", "STP", (("hctp", "Phòng Hành chính tư pháp"),), True),
    ("sonoivu", "Sở Nội vụ", "SNV", (("tcbc", "Phòng Tổ chức, biên chế"),), True),
    (
        "sotaichinh",
        "Sở Tài chính",
        "STC",
        (("dkkd", "Phòng Đăng ký kinh doanh"), ("qlns", "Phòng Quản lý ngân sách")),
        True,
    ),
    (
        "soxaydung",
        "Sở Xây dựng",
        "SXD",
        (("qlxd", "Phòng Quản lý hoạt động xây dựng"), ("qlgt", "Phòng Quản lý giao thông")),
        True,
    ),
    (
        "sonnmt",
        "Sở Nông nghiệp và Môi trường",
        "SNNMT",
        (("datdai", "Phòng Đất đai"), ("ttbvtv", "Phòng Trồng trọt và Bảo vệ thực vật")),
        True,
    ),
    ("soyte", "Sở Y tế", "SYT", (("nvy", "Phòng Nghiệp vụ Y"),), False),
    ("sogddt", "Sở Giáo dục và Đào tạo", "SGDĐT", (("gdpt", "Phòng Giáo dục phổ thông"),), False),
    ("socongthuong", "Sở Công Thương", "SCT", (("qltm", "Phòng Quản lý thương mại"),), False),
    ("sokhcn", "Sở Khoa học và Công nghệ", "SKHCN", (("cds", "Phòng Chuyển đổi số"),), False),
    (
        "sovhttdl",
        "Sở Văn hóa, Thể thao và Du lịch",
        "SVHTTDL",
        (("qldl", "Phòng Quản lý du lịch"),),
        False,
    ),
)

DALAT_STREETS = split_list(
    "Trần Phú, Trần Hưng Đạo, Hùng Vương, Lê Hồng Phong, Yersin, Hai Bà Trưng, Phan "
    "Đình Phùng, Nguyễn Văn Trỗi, Bùi Thị Xuân"
)
TOWN_STREETS = split_list(
    "Trần Phú, Lê Lợi, Hùng Vương, Nguyễn Trãi, Quang Trung, Hai Bà Trưng, Lý Thường "
    "Kiệt, Nguyễn Huệ, Lê Duẩn, Phan Chu Trinh"
)

BUSINESSES: tuple[tuple[str, str], ...] = (
    ("Công ty TNHH Rau hoa Đơn Dương Xanh", "donduong"),
    ("Hợp tác xã Nông nghiệp D'Ran", "dran"),
    ("Công ty Cổ phần Du lịch Đồi Thông Xuân Hương", "xuanhuong"),
    ("Công ty TNHH Chè và Cà phê B'Lao", "blao"),
    ("Công ty TNHH Thủy sản Biển Phan Thiết", "phanthiet"),
)

WELL_KNOWN_CITIZEN_ID = "068090000001"
CITIZENS = 30


@dataclass(frozen=True)
class OrgSpec:
    key: str
    name: str
    kind: str
    parent_key: str | None
    org_code: str | None
    admin_unit: str | None  # vietnam-provinces name; communes are looked up under the province
    short_name: str = ""
    address: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class HistoricalOrgSpec:
    """A pre-2025 organisation, kept inactive and merged into its successor."""

    org: OrgSpec
    merged_into_key: str
    on_date: dt.date
    reason: str


@dataclass(frozen=True)
class PositionSpec:
    org_key: str
    role: str
    title: str


@dataclass(frozen=True)
class OfficialSpec:
    username: str
    full_name: str
    email: str
    phone: str
    positions: tuple[PositionSpec, ...]  # the first is the primary one

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(p.role for p in self.positions)


@dataclass(frozen=True)
class ApplicantSpec:
    kind: str
    username: str
    full_name: str
    personal_id: str | None
    tax_code: str | None
    date_of_birth: dt.date | None
    address: str
    phone: str


@dataclass
class Plan:
    organisations: list[OrgSpec] = field(default_factory=list)
    historical: list[HistoricalOrgSpec] = field(default_factory=list)
    officials: list[OfficialSpec] = field(default_factory=list)
    applicants: list[ApplicantSpec] = field(default_factory=list)

    def org(self, key: str) -> OrgSpec:
        return next(o for o in self.organisations if o.key == key)


def _lower_first_word(name: str) -> str:
    """Lower-case the level word ("Xã Đơn Dương" to "xã Đơn Dương") inside an address."""
    head, _, rest = name.partition(" ")
    return f"{head.lower()} {rest}"


def tax_check_digit(first9: str) -> int | None:
    """Check digit of a 10-digit Vietnamese tax code (modulus 11 over weights 31…3); None when
    the nine digits admit no check digit."""
    weights = (31, 29, 23, 19, 17, 13, 7, 5, 3)
    remainder = sum(int(d) * w for d, w in zip(first9, weights, strict=True)) % 11
    check = 10 - remainder
    if check == 10:
        return None
    return check % 10


class _Builder:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.plan = Plan()
        self._phones: set[str] = set()

    # -- small random values -------------------------------------------------------------
    def mobile(self) -> str:
        while True:
            phone = "09" + "".join(str(self.rng.randrange(10)) for _ in range(8))
            if phone not in self._phones:
                self._phones.add(phone)
                return phone

    def landline(self, region: str) -> str:
        return f"{AREA_CODES[region]} {self.rng.randrange(3_500_000, 3_900_000)}"

    def street_address(self, unit_name: str, *, dalat: bool = False) -> str:
        streets = DALAT_STREETS if dalat else TOWN_STREETS
        number = self.rng.randrange(1, 200)
        street = self.rng.choice(streets)
        return f"Số {number} đường {street}, {_lower_first_word(unit_name)}, tỉnh Lâm Đồng"

    def village_address(self, unit_name: str) -> str:
        if unit_name.startswith("Phường"):
            return self.street_address(unit_name, dalat=unit_name.endswith("Đà Lạt"))
        return f"Thôn {self.rng.randrange(1, 12)}, {_lower_first_word(unit_name)}, tỉnh Lâm Đồng"

    # -- organisations and people --------------------------------------------------------
    def org(self, **kwargs) -> OrgSpec:
        spec = OrgSpec(**kwargs)
        self.plan.organisations.append(spec)
        return spec

    def official(
        self, username: str, positions: list[PositionSpec], *, highland: bool = False
    ) -> OfficialSpec:
        gender = "female" if self.rng.random() < 0.5 else "male"
        spec = OfficialSpec(
            username=username,
            full_name=person_name(self.rng, gender, highland=highland),
            email=f"{username}@{EMAIL_DOMAIN}",
            phone=self.mobile(),
            positions=tuple(positions),
        )
        self.plan.officials.append(spec)
        return spec

    def staff_unit(
        self,
        org_key: str,
        suffix: str,
        *,
        office: bool,
        specialists: int,
        highland: bool = False,
    ) -> None:
        """A head, a deputy and `specialists` specialists for one phòng (or Văn phòng).

        `suffix` ends every username, e.g. "kt.donduong"; a Văn phòng's heads are named after
        the organisation alone ("chanhvanphong.donduong").
        """
        org_suffix = suffix.split(".", 1)[1] if office else suffix
        head, deputy = (
            ("chanhvanphong", "phochanhvanphong") if office else ("truongphong", "phophong")
        )
        head_title, deputy_title = (
            ("Chánh Văn phòng", "Phó Chánh Văn phòng")
            if office
            else ("Trưởng phòng", "Phó Trưởng phòng")
        )
        self.official(
            f"{head}.{org_suffix}",
            [PositionSpec(org_key, Role.UNIT_HEAD, head_title)],
            highland=highland,
        )
        self.official(
            f"{deputy}.{org_suffix}",
            [PositionSpec(org_key, Role.UNIT_DEPUTY, deputy_title)],
            highland=highland,
        )
        for n in range(1, specialists + 1):
            number = "" if n == 1 else str(n)
            self.official(
                f"chuyenvien{number}.{suffix}",
                [PositionSpec(org_key, Role.SPECIALIST, "Chuyên viên")],
                highland=highland,
            )


def _province(b: _Builder) -> None:
    b.org(
        key="tinh",
        name="UBND tỉnh Lâm Đồng",
        short_name="UBND tỉnh",
        kind=OrganisationKind.PROVINCE_COMMITTEE,
        parent_key=None,
        # The demo's code: real H codes come from the official list (DOMAIN.md §2.1).
        org_code=PROVINCE_CODE,
        admin_unit=PROVINCE_UNIT,
        address="Số 4 đường Trần Hưng Đạo, phường Xuân Hương - Đà Lạt, tỉnh Lâm Đồng",
        phone=b.landline("lamdong"),
        email=f"ubnd@{EMAIL_DOMAIN}",
    )
    b.official("chutich.tinh", [PositionSpec("tinh", Role.LEADER, "Chủ tịch UBND tỉnh")])
    for n in ("", "2"):
        b.official(
            f"phochutich{n}.tinh", [PositionSpec("tinh", Role.LEADER, "Phó Chủ tịch UBND tỉnh")]
        )
    b.official("quantri.tinh", [PositionSpec("tinh", Role.ADMIN, "Quản trị hệ thống")])
    b.official("vanthu.tinh", [PositionSpec("tinh", Role.CLERK, "Văn thư")])

    b.org(
        key="vpubnd",
        name="Văn phòng UBND tỉnh Lâm Đồng",
        short_name="VP UBND tỉnh",
        kind=OrganisationKind.PROVINCE_OFFICE,
        parent_key="tinh",
        org_code="000.00.01.H39",
        admin_unit=PROVINCE_UNIT,
        address=b.street_address("Phường Xuân Hương - Đà Lạt", dalat=True),
        phone=b.landline("lamdong"),
        email=f"vpubnd@{EMAIL_DOMAIN}",
    )
    b.official(
        "chanhvanphong.vpubnd",
        [PositionSpec("vpubnd", Role.LEADER, "Chánh Văn phòng UBND tỉnh")],
    )
    b.official(
        "phochanhvanphong.vpubnd",
        [PositionSpec("vpubnd", Role.LEADER, "Phó Chánh Văn phòng UBND tỉnh")],
    )
    b.official("vanthu.vpubnd", [PositionSpec("vpubnd", Role.CLERK, "Văn thư")])
    for number, (slug, name) in enumerate(
        (("th", "Phòng Tổng hợp"), ("hctc", "Phòng Hành chính – Tổ chức")), start=2
    ):
        key = f"vpubnd.{slug}"
        b.org(
            key=key,
            name=name,
            kind=OrganisationKind.UNIT,
            parent_key="vpubnd",
            org_code=f"000.{number:02d}.01.H39",
            admin_unit=PROVINCE_UNIT,
        )
        b.staff_unit(key, f"{slug}.vpubnd", office=False, specialists=1 if slug == "th" else 0)

    # NĐ 118/2025/NĐ-CP: the provincial centre is an administrative body under the Văn phòng.
    b.org(
        key="ttpvhcc",
        name="Trung tâm Phục vụ hành chính công tỉnh Lâm Đồng",
        short_name="TT PVHCC tỉnh",
        kind=OrganisationKind.SERVICE_CENTRE,
        parent_key="vpubnd",
        org_code="000.01.01.H39",
        admin_unit=PROVINCE_UNIT,
        address=b.street_address("Phường Xuân Hương - Đà Lạt", dalat=True),
        phone=b.landline("lamdong"),
        email=f"ttpvhcc@{EMAIL_DOMAIN}",
    )
    b.official("giamdoc.ttpvhcc", [PositionSpec("ttpvhcc", Role.LEADER, "Giám đốc Trung tâm")])
    b.official(
        "phogiamdoc.ttpvhcc", [PositionSpec("ttpvhcc", Role.LEADER, "Phó Giám đốc Trung tâm")]
    )
    b.official("vanthu.ttpvhcc", [PositionSpec("ttpvhcc", Role.CLERK, "Văn thư")])
    for n in ("", "2", "3"):
        b.official(
            f"motcua{n}.tinh",
            [PositionSpec("ttpvhcc", Role.DESK_OFFICER, "Công chức tiếp nhận và trả kết quả")],
        )


def _departments(b: _Builder) -> None:
    for level2, (key, name, short, units, has_specialist) in enumerate(DEPARTMENTS, start=2):
        b.org(
            key=key,
            name=f"{name} tỉnh Lâm Đồng",
            short_name=short,
            kind=OrganisationKind.DEPARTMENT,
            parent_key="tinh",
            org_code=f"000.00.{level2:02d}.H39",
            admin_unit=PROVINCE_UNIT,
            address=b.street_address(
                b.rng.choice(("Phường Xuân Hương - Đà Lạt", "Phường Lâm Viên - Đà Lạt")),
                dalat=True,
            ),
            phone=b.landline("lamdong"),
            email=f"{key}@{EMAIL_DOMAIN}",
        )
        b.official(f"giamdoc.{key}", [PositionSpec(key, Role.LEADER, "Giám đốc Sở")])
        b.official(f"phogiamdoc.{key}", [PositionSpec(key, Role.LEADER, "Phó Giám đốc Sở")])
        b.official(f"vanthu.{key}", [PositionSpec(key, Role.CLERK, "Văn thư")])
        all_units = (("vp", f"Văn phòng {name}"), *units)
        for level3, (slug, unit_name) in enumerate(all_units, start=1):
            unit_key = f"{key}.{slug}"
            b.org(
                key=unit_key,
                name=unit_name,
                kind=OrganisationKind.UNIT,
                parent_key=key,
                org_code=f"000.{level3:02d}.{level2:02d}.H39",
                admin_unit=PROVINCE_UNIT,
            )
            specialists = 1 if has_specialist and level3 == 2 else 0
            b.staff_unit(unit_key, f"{slug}.{key}", office=slug == "vp", specialists=specialists)


def _communes(b: _Builder) -> None:
    for number, (key, unit_name, region) in enumerate(COMMUNES, start=1):
        ward = unit_name.startswith("Phường")
        level = "phường" if ward else "xã"
        place = unit_name.split(" ", 1)[1]
        highland = unit_name in HIGHLAND_COMMUNES
        showcase = key in SHOWCASE_COMMUNES
        code = f"{number:02d}.39.H39"
        b.org(
            key=key,
            name=f"UBND {level} {place}",
            short_name=place,
            kind=OrganisationKind.COMMUNE_COMMITTEE,
            parent_key="tinh",
            org_code=f"000.{code}",
            admin_unit=unit_name,
            address=b.village_address(unit_name),
            phone=b.landline(region),
            email=f"ubnd.{key}@{EMAIL_DOMAIN}",
        )
        centre, office, economy, society = (
            f"{key}.ttpvhcc",
            f"{key}.vp",
            f"{key}.kt",
            f"{key}.vhxh",
        )
        economy_name = "Phòng Kinh tế, Hạ tầng và Đô thị" if ward else "Phòng Kinh tế"
        for unit_number, (unit_key, name, kind) in enumerate(
            (
                (
                    centre,
                    f"Trung tâm Phục vụ hành chính công {level} {place}",
                    OrganisationKind.SERVICE_CENTRE,
                ),
                (office, f"Văn phòng HĐND và UBND {level} {place}", OrganisationKind.UNIT),
                (economy, f"{economy_name} {level} {place}", OrganisationKind.UNIT),
                (society, f"Phòng Văn hóa – Xã hội {level} {place}", OrganisationKind.UNIT),
            ),
            start=1,
        ):
            b.org(
                key=unit_key,
                name=name,
                kind=kind,
                parent_key=key,
                org_code=f"{unit_number:03d}.{code}",
                admin_unit=unit_name,
                phone=b.landline(region) if kind == OrganisationKind.SERVICE_CENTRE else "",
            )

        committee = f"UBND {level}"
        b.official(
            f"chutich.{key}",
            [PositionSpec(key, Role.LEADER, f"Chủ tịch {committee}")],
            highland=highland,
        )
        # NĐ 118/2025: a Phó Chủ tịch heads the commune centre as a second post (kiêm nhiệm).
        b.official(
            f"phochutich.{key}",
            [
                PositionSpec(key, Role.LEADER, f"Phó Chủ tịch {committee}"),
                PositionSpec(centre, Role.LEADER, "Giám đốc Trung tâm (kiêm nhiệm)"),
            ],
            highland=highland,
        )
        if showcase:
            b.official(
                f"phochutich2.{key}",
                [PositionSpec(key, Role.LEADER, f"Phó Chủ tịch {committee}")],
                highland=highland,
            )
        admin_posts = [PositionSpec(key, Role.ADMIN, "Quản trị hệ thống")]
        if not showcase:
            # Smaller communes: an office specialist also administers the system.
            admin_posts.append(
                PositionSpec(office, Role.SPECIALIST, "Chuyên viên (kiêm quản trị hệ thống)")
            )
        b.official(f"quantri.{key}", admin_posts, highland=highland)
        # The commune's clerk also keeps the centre's register and seal.
        b.official(
            f"vanthu.{key}",
            [
                PositionSpec(key, Role.CLERK, "Văn thư"),
                PositionSpec(centre, Role.CLERK, "Văn thư (kiêm nhiệm)"),
            ],
            highland=highland,
        )
        for n in ("", "2") if showcase else ("",):
            b.official(
                f"motcua{n}.{key}",
                [PositionSpec(centre, Role.DESK_OFFICER, "Công chức tiếp nhận và trả kết quả")],
                highland=highland,
            )
        b.staff_unit(office, f"vp.{key}", office=True, specialists=0, highland=highland)
        if showcase:
            # The README's specialist: civil status (hộ tịch) sits in the office after 2025.
            b.official(
                f"chuyenvien.{key}",
                [PositionSpec(office, Role.SPECIALIST, "Chuyên viên Tư pháp – Hộ tịch")],
                highland=highland,
            )
        specialists = 1 if showcase else 0
        b.staff_unit(economy, f"kt.{key}", office=False, specialists=specialists, highland=highland)
        b.staff_unit(
            society, f"vhxh.{key}", office=False, specialists=specialists, highland=highland
        )


def _historical(b: _Builder) -> None:
    district = OrgSpec(
        key="huyen.donduong",
        name="UBND huyện Đơn Dương",
        short_name="Đơn Dương (cũ)",
        kind=OrganisationKind.DISTRICT_COMMITTEE,
        parent_key="tinh",
        org_code=None,  # pre-2025 codes are not reconstructed
        admin_unit=None,
        address="Thị trấn Thạnh Mỹ, huyện Đơn Dương, tỉnh Lâm Đồng (trước 01/07/2025)",
    )
    # The district's territory went to several communes (Đơn Dương, D'Ran, Ka Đô, Quảng
    # Lập...); `merged_into` names one successor, the commune that kept its seat.
    b.plan.historical.append(
        HistoricalOrgSpec(
            org=district,
            merged_into_key="donduong",
            on_date=REFORM_DATE,
            reason=(
                "Chính quyền địa phương hai cấp từ 01/07/2025: cấp huyện kết thúc hoạt động, "
                "nhiệm vụ chuyển về UBND xã Đơn Dương (dữ liệu mẫu)."
            ),
        )
    )


def _citizens(b: _Builder) -> None:
    for serial in range(1, CITIZENS + 1):
        key, unit_name, _region = COMMUNES[(serial - 1) % len(COMMUNES)]
        gender = "female" if b.rng.random() < 0.5 else "male"
        year = b.rng.randrange(1955, 2006)
        month = b.rng.randrange(1, 13)
        day = b.rng.randrange(1, 29)
        if serial == 1:
            gender, year = "male", 1990  # 068 0 90 000001: a man born in 1990
        # 12 digits: birth-province code 068, century-and-gender digit (0/1 for men/women born
        # in the 1900s, 2/3 in the 2000s), two digits of the birth year, a 6-digit serial.
        century = (0 if year < 2000 else 2) + (1 if gender == "female" else 0)
        personal_id = f"068{century}{year % 100:02d}{serial:06d}"
        b.plan.applicants.append(
            ApplicantSpec(
                kind=UserKind.CITIZEN,
                username=personal_id,
                full_name=person_name(b.rng, gender, highland=unit_name in HIGHLAND_COMMUNES),
                personal_id=personal_id,
                tax_code=None,
                date_of_birth=dt.date(year, month, day),
                address=b.village_address(unit_name),
                phone=b.mobile(),
            )
        )
    assert b.plan.applicants[0].personal_id == WELL_KNOWN_CITIZEN_ID


def _businesses(b: _Builder) -> None:
    communes = {key: unit_name for key, unit_name, _ in COMMUNES}
    used: set[str] = set()
    for name, commune_key in BUSINESSES:
        while True:
            # 58: the tax-office prefix of Lâm Đồng in this demo.
            first9 = "58" + "".join(str(b.rng.randrange(10)) for _ in range(7))
            check = tax_check_digit(first9)
            if check is not None and first9 not in used:
                break
        used.add(first9)
        tax_code = f"{first9}{check}"
        b.plan.applicants.append(
            ApplicantSpec(
                kind=UserKind.BUSINESS,
                username=tax_code,
                full_name=name,
                personal_id=None,
                tax_code=tax_code,
                date_of_birth=None,
                address=b.street_address(communes[commune_key])
                if communes[commune_key].startswith("Phường")
                else b.village_address(communes[commune_key]),
                phone=b.mobile(),
            )
        )


def build_plan(seed: int = DEFAULT_SEED) -> Plan:
    """The whole demo for `seed`; the same seed always gives the same plan."""
    b = _Builder(seed)
    _province(b)
    _departments(b)
    _communes(b)
    _historical(b)
    _citizens(b)
    _businesses(b)
    return b.plan
