"""Vietnamese personal names for the demo, drawn from a seeded `random.Random`.

Family names are weighted roughly by their share of the population (Nguyễn about 38 %, Trần
11 %, Lê 9.5 %...); middle and given names are gendered. A few names of the Central Highlands'
peoples (K'Ho, Chu Ru) appear in the communes where they live, as they do in Lâm Đồng.
"""

from __future__ import annotations

import random


def split_list(text: str) -> tuple[str, ...]:
    """Split "An, Bình, Cường" into ("An", "Bình", "Cường")."""
    return tuple(item.strip() for item in text.split(","))


FAMILY_NAMES: tuple[tuple[str, int], ...] = (
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 70),
    ("Hoàng", 30),
    ("Huỳnh", 25),
    ("Phan", 45),
    ("Vũ", 20),
    ("Võ", 20),
    ("Đặng", 21),
    ("Bùi", 20),
    ("Đỗ", 14),
    ("Hồ", 13),
    ("Ngô", 13),
    ("Dương", 10),
    ("Lý", 5),
    ("Đinh", 6),
    ("Trương", 6),
    ("Lâm", 4),
    ("Mai", 4),
)

MIDDLE_NAMES = {
    "male": split_list(
        "Văn, Đức, Minh, Quang, Hữu, Công, Thanh, Ngọc, Xuân, Quốc, Trọng, Duy, Hoàng, "
        "Anh, Tiến, Đình"
    ),
    "female": split_list(
        "Thị, Thị, Thị, Ngọc, Thu, Thanh, Hồng, Kim, Minh, Phương, Bích, Thùy, Mỹ, "
        "Hoài, Diệu, Khánh"
    ),
}

GIVEN_NAMES = {
    "male": split_list(
        "An, Bình, Cường, Dũng, Hải, Hùng, Huy, Khoa, Long, Minh, Nam, Phong, Quân, "
        "Sơn, Tài, Thắng, Toàn, Trung, Tuấn, Việt, Vinh, Hiếu, Đạt, Khánh, Lâm, Phúc, "
        "Thịnh, Đức, Kiên, Tùng, Nghĩa, Hòa, Lộc, Tâm, Thành"
    ),
    "female": split_list(
        "Anh, Chi, Dung, Giang, Hà, Hạnh, Hằng, Hoa, Hương, Huyền, Lan, Linh, Loan, "
        "Mai, My, Nga, Ngân, Nhung, Oanh, Phương, Quỳnh, Thảo, Trang, Tuyết, Vân, Yến, "
        "Thủy, Hiền, Ngọc, Nhi"
    ),
}

# K'Ho names: men carry "K'", women "Ka"; Chu Ru family names such as Touneh, Ya, Ma Ly.
HIGHLAND_NAMES = {
    "male": ("K'Brơi", "K'Tiếu", "K'Điệp", "Touneh Hàn Tuấn", "Ya Khuyên", "Ma Ly Ha Sinh"),
    "female": ("Ka Nhiên", "Ka Loan", "Ka Hương", "Touneh Thị Hạnh", "Ya Ngọc Bích"),
}
# Communes (admin-unit names) where some residents and staff carry highland names.
HIGHLAND_COMMUNES = frozenset({"Xã Đơn Dương", "Xã D'Ran", "Xã Lạc Dương", "Xã Di Linh"})

_FAMILIES = [name for name, _ in FAMILY_NAMES]
_WEIGHTS = [weight for _, weight in FAMILY_NAMES]


def person_name(rng: random.Random, gender: str, *, highland: bool = False) -> str:
    """A full name "Họ Đệm Tên" for `gender` ("male" or "female").

    Always draws the same number of values from `rng`, whatever the outcome, so that later draws
    do not depend on which branch was taken.
    """
    family = rng.choices(_FAMILIES, weights=_WEIGHTS)[0]
    middle = rng.choice(MIDDLE_NAMES[gender])
    given = rng.choice(GIVEN_NAMES[gender])
    roll = rng.random()
    highland_name = rng.choice(HIGHLAND_NAMES[gender])
    if highland and roll < 0.2:
        return highland_name
    return f"{family} {middle} {given}"
