"""The care groups every installation starts with (预置重点人群). Administrators may edit or add."""

from typing import Any

from django.db import migrations

# code, name, English name, sensitive, has a grade, visit every (days)
PRESETS = (
    ("elderly_alone", "独居老人", "Elderly living alone", False, False, 7),
    ("solitary_elderly", "孤寡老人", "Solitary elderly", False, False, 7),
    ("disabled", "残疾人", "Disabled", True, True, 30),
    ("veteran", "退役军人", "Veteran", False, False, None),
    ("party_member", "党员", "Party member", False, False, None),
    ("low_income", "低保/低收入", "Low income / subsistence allowance", True, False, None),
    ("left_behind_child", "留守儿童", "Left-behind child", False, False, 14),
    ("serious_illness", "重病", "Serious illness", True, False, 14),
    ("special_attention", "重点关注", "Special attention", True, False, None),
)


def create_presets(apps: Any, schema_editor: Any) -> None:
    CareGroup = apps.get_model("people", "CareGroup")
    for order, (code, name, name_en, sensitive, graded, every) in enumerate(PRESETS):
        CareGroup.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "is_sensitive": sensitive,
                "has_grade": graded,
                "visit_every_days": every,
                "sort_order": order,
            },
        )


def remove_unused_presets(apps: Any, schema_editor: Any) -> None:
    CareGroup = apps.get_model("people", "CareGroup")
    CareGroup.objects.filter(code__in=[p[0] for p in PRESETS], memberships__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("people", "0002_ledger_job")]

    operations = [migrations.RunPython(create_presets, remove_unused_presets)]
