"""Administrative units (territory) and organisations (agencies and their units, a tree)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# QCVN 102:2016/BTTTT and TT 10/2016/TT-BTTTT: V1V2V3.Z1Z2.Y1Y2.MX1X2, e.g. 000.00.00.H41.
ORG_CODE_VALIDATOR = RegexValidator(
    r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$",
    _("Mã định danh phải có dạng 000.00.00.H41 (QCVN 102:2016/BTTTT)."),
    code="org_code_format",
)


class AdminLevel(models.TextChoices):
    PROVINCE = "province", _("Tỉnh/Thành phố")
    DISTRICT = "district", _("Quận/Huyện (trước 01/07/2025)")
    COMMUNE = "commune", _("Xã/Phường/Đặc khu")


class AdministrativeUnit(models.Model):
    """A territory. Loaded from `vietnam-provinces` (34 provinces, 3,321 communes after the 2025
    reform); districts and pre-2025 communes are rows added as data (valid_to set when
    abolished)."""

    level = models.CharField(_("cấp"), max_length=10, choices=AdminLevel.choices)
    code = models.CharField(_("mã"), max_length=10)
    name = models.CharField(_("tên"), max_length=200)
    division_type = models.CharField(_("loại"), max_length=40, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    valid_from = models.DateField(_("hiệu lực từ"), null=True, blank=True)
    valid_to = models.DateField(_("hết hiệu lực"), null=True, blank=True)
    replaced_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaces"
    )
    source = models.CharField(_("nguồn dữ liệu"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("đơn vị hành chính")
        verbose_name_plural = _("đơn vị hành chính")
        constraints = [
            models.UniqueConstraint(fields=["level", "code"], name="adminunit_level_code_uniq")
        ]
        ordering = ["level", "name"]

    def __str__(self) -> str:
        return self.name


class OrganisationKind(models.TextChoices):
    PROVINCE_COMMITTEE = "province_committee", _("UBND tỉnh/thành phố")
    PROVINCE_OFFICE = "province_office", _("Văn phòng UBND tỉnh")
    DEPARTMENT = "department", _("Sở, ban, ngành")
    SERVICE_CENTRE = "service_centre", _("Trung tâm Phục vụ hành chính công")
    DISTRICT_COMMITTEE = "district_committee", _("UBND huyện (trước 01/07/2025)")
    COMMUNE_COMMITTEE = "commune_committee", _("UBND xã/phường/đặc khu")
    UNIT = "unit", _("Phòng, ban, đơn vị trực thuộc")
    OTHER = "other", _("Cơ quan, tổ chức khác")


class Organisation(models.Model):
    """An agency or one of its units. A tree of any depth: nothing assumes a number of levels.

    `path` is a materialised path of ids ("/1/7/42/"), maintained only by
    `core.services.organisations`, so that "this organisation and everything under it" is one
    indexed prefix query.
    """

    name = models.CharField(_("tên"), max_length=255)
    short_name = models.CharField(_("tên viết tắt"), max_length=60, blank=True)
    kind = models.CharField(_("loại"), max_length=30, choices=OrganisationKind.choices)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("cơ quan cấp trên"),
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    org_code = models.CharField(
        _("mã định danh"),
        max_length=13,
        unique=True,
        null=True,
        blank=True,
        validators=[ORG_CODE_VALIDATOR],
        help_text=_("Mã định danh điện tử của cơ quan, ví dụ 000.00.00.H41."),
    )
    admin_unit = models.ForeignKey(
        AdministrativeUnit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="organisations",
        verbose_name=_("đơn vị hành chính"),
    )
    address = models.CharField(_("địa chỉ"), max_length=255, blank=True)
    phone = models.CharField(_("điện thoại"), max_length=30, blank=True)
    email = models.EmailField(_("thư điện tử"), blank=True)
    is_active = models.BooleanField(_("đang hoạt động"), default=True)
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
        verbose_name=_("đã hợp nhất vào"),
    )
    dissolved_on = models.DateField(_("ngày thôi hoạt động"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("cơ quan, đơn vị")
        verbose_name_plural = _("cơ quan, đơn vị")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    def is_within(self, other: Organisation) -> bool:
        """True when self is `other` or lies in its subtree."""
        return bool(other.path) and self.path.startswith(other.path)
