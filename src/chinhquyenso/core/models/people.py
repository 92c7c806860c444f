"""Accounts (officials, citizens, businesses), positions with roles, and API keys."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PERSONAL_ID_VALIDATOR = RegexValidator(
    r"^\d{12}$", _("Số định danh cá nhân gồm đúng 12 chữ số."), code="personal_id_format"
)
TAX_CODE_VALIDATOR = RegexValidator(
    r"^\d{10}(-\d{3})?$", _("Mã số thuế gồm 10 chữ số (hoặc 10-3 cho chi nhánh)."), code="tax_code"
)


class UserKind(models.TextChoices):
    OFFICIAL = "official", _("Cán bộ, công chức")
    CITIZEN = "citizen", _("Công dân")
    BUSINESS = "business", _("Tổ chức, doanh nghiệp")


class User(AbstractUser):
    """One login. Officials act through their positions; citizens and businesses are applicants."""

    kind = models.CharField(_("loại tài khoản"), max_length=10, choices=UserKind.choices)
    full_name = models.CharField(_("họ và tên"), max_length=150, blank=True)
    phone = models.CharField(_("số điện thoại"), max_length=20, blank=True)
    personal_id = models.CharField(
        _("số định danh cá nhân"),
        max_length=12,
        unique=True,
        null=True,
        blank=True,
        validators=[PERSONAL_ID_VALIDATOR],
    )
    tax_code = models.CharField(
        _("mã số thuế"),
        max_length=14,
        unique=True,
        null=True,
        blank=True,
        validators=[TAX_CODE_VALIDATOR],
    )
    date_of_birth = models.DateField(_("ngày sinh"), null=True, blank=True)
    address = models.CharField(_("địa chỉ"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("tài khoản")
        verbose_name_plural = _("tài khoản")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def is_official(self) -> bool:
        return self.kind == UserKind.OFFICIAL

    @property
    def is_applicant(self) -> bool:
        return self.kind in (UserKind.CITIZEN, UserKind.BUSINESS)


class Role(models.TextChoices):
    """What a position lets its holder do; the scope is the position's organisation subtree."""

    DESK_OFFICER = "desk_officer", _("Cán bộ tiếp nhận (một cửa)")
    SPECIALIST = "specialist", _("Chuyên viên")
    UNIT_DEPUTY = "unit_deputy", _("Phó trưởng đơn vị")
    UNIT_HEAD = "unit_head", _("Trưởng đơn vị")
    LEADER = "leader", _("Lãnh đạo cơ quan")
    CLERK = "clerk", _("Văn thư")
    ADMIN = "admin", _("Quản trị hệ thống")


# Roles whose holders must sign in with a second factor (issue #2, point 5).
SECOND_FACTOR_ROLES = frozenset({Role.LEADER, Role.ADMIN})


class PositionQuerySet(models.QuerySet):
    def active(self, on=None):
        day = on or timezone.localdate()
        return self.filter(start_date__lte=day).filter(
            models.Q(end_date__isnull=True) | models.Q(end_date__gte=day)
        )


class Position(models.Model):
    """A post held by an official in an organisation; an official may hold several (kiêm nhiệm)."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="positions")
    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="positions"
    )
    role = models.CharField(_("vai trò"), max_length=20, choices=Role.choices)
    title = models.CharField(_("chức danh"), max_length=120, blank=True)
    is_primary = models.BooleanField(_("vị trí chính"), default=True)
    start_date = models.DateField(_("từ ngày"), default=timezone.localdate)
    end_date = models.DateField(_("đến ngày"), null=True, blank=True)

    objects = PositionQuerySet.as_manager()

    class Meta:
        verbose_name = _("vị trí công tác")
        verbose_name_plural = _("vị trí công tác")
        indexes = [models.Index(fields=["organisation", "role"])]
        ordering = ["-is_primary", "id"]

    def __str__(self) -> str:
        return f"{self.title or self.get_role_display()} – {self.organisation}"


class ApiKey(models.Model):
    """A key another system uses to call our API on behalf of one organisation.

    Only a SHA-256 of the secret is stored (the secret is 256 random bits, so a slow hash adds
    nothing); the prefix finds the row.
    """

    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="api_keys"
    )
    name = models.CharField(_("tên"), max_length=120)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(_("phạm vi"), default=list)
    created_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("hết hạn"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("thu hồi lúc"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("khóa API")
        verbose_name_plural = _("khóa API")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
