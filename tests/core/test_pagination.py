"""The shared pagination blocks (core's and the procedures' one, used by the dossier lists):
counts are written with the Vietnamese thousands separator ("3.321"), through `intcomma`, not
by turning on USE_THOUSAND_SEPARATOR for every number of the site."""

from __future__ import annotations

import pytest
from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation

INCLUDES = ["core/includes/pagination.html", "procedures/includes/pagination.html"]


def render(template: str, count: int, per_page: int, number: int = 1) -> str:
    page = Paginator(range(count), per_page).page(number)
    with translation.override("vi"):
        html = render_to_string(template, {"page_obj": page}, request=RequestFactory().get("/"))
    return " ".join(html.split())


@pytest.mark.parametrize("template", INCLUDES)
def test_the_total_has_thousands_separators(template):
    html = render(template, 3321, 50, number=21)
    assert "1.001–1.050 trên tổng số 3.321" in html
    assert "Trang 21/67" in html


@pytest.mark.parametrize("template", INCLUDES)
def test_a_single_page_total_has_thousands_separators(template):
    assert "Tổng số: 1.234" in render(template, 1234, 2000)
