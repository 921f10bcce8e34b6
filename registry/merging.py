"""The rule every merge obeys, whoever asks (`account merge`, a roster import, `group merge`, a work
group ledger): nothing merges into itself, and nothing merges into what is itself retired (merged,
closed, dissolved): a merge into a merged account or group would leave a chain, and two rows merging
into each other (A→B, B→A) would leave both retired with nothing kept. The error names where the
retired target went, so the user can merge there instead."""

from __future__ import annotations

from registry.errors import ConflictError, ValidationError
from registry.i18n import L

RETIRED = {"merged": ("已整合", "merged"), "closed": ("已关停", "closed"), "dissolved": ("已解散", "dissolved")}


def check_merge(ref: str, target_ref: str, target_status: str | None, *, final_target: str | None = None) -> None:
    """Raise when `ref` may not be merged into `target_ref`, whose status (after the change being made)
    is `target_status`; `final_target` is where that target was merged, if it was."""
    if ref == target_ref:
        raise ValidationError(L(f"不能把 {ref} 合并到它自己", f"cannot merge {ref} into itself"))
    if target_status in RETIRED:
        zh, en = RETIRED[target_status]
        raise ConflictError(
            L(f"目标 {target_ref} 已{zh}", f"the target {target_ref} is {en}"),
            hint=L(f"合并到 {final_target}", f"merge into {final_target}") if final_target else None,
        )
