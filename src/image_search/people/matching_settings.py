"""The pack's matching settings as users see and change them: auto-assign and suggestion
thresholds and the review page sizes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from image_search.errors import InvalidInputError
from image_search.faces.models import ModelPackSettings
from image_search.faces.pack_settings import PACK_DEFAULTS, load_pack_settings
from image_search.faces.repository import FaceRepository
from image_search.paging import check_size
from image_search.people.suggestions import MAX_PAGE_SIZE


class MatchingSettingsService:
    def __init__(self, session: Session, model_pack: str) -> None:
        self.faces = FaceRepository(session)
        self.model_pack = model_pack

    def get(self) -> ModelPackSettings:
        """The pack's settings row (created from the calibrated defaults on first use).
        Raises ``UncalibratedPackError`` for a pack without defaults."""
        return load_pack_settings(self.faces, self.model_pack)

    def calibrated_defaults(self) -> tuple[float | None, float | None]:
        """(auto-assign, suggestion) thresholds from the lfw-dev calibration."""
        defaults = PACK_DEFAULTS.get(self.model_pack)
        if defaults is None:
            return None, None
        return defaults.auto_assign_threshold, defaults.suggestion_threshold

    def update(
        self,
        auto_assign_threshold: float | None = None,
        suggestion_threshold: float | None = None,
        groups_per_page: int | None = None,
        items_per_group: int | None = None,
    ) -> ModelPackSettings:
        """Change any of the settings; the others keep their values.

        Thresholds are cosine similarities in [-1, 1] with suggestion <= auto-assign;
        page sizes are 1..200. Raises ``InvalidInputError`` and changes nothing on bad input.
        """
        settings = self.get()
        auto = (
            settings.auto_assign_threshold
            if auto_assign_threshold is None
            else auto_assign_threshold
        )
        suggest = (
            settings.suggestion_threshold if suggestion_threshold is None else suggestion_threshold
        )
        for name, value in (("autoAssignThreshold", auto), ("suggestionThreshold", suggest)):
            if value is not None and not -1.0 <= value <= 1.0:
                raise InvalidInputError(f"{name} must be a cosine similarity between -1 and 1")
        if auto is not None and suggest is not None and suggest > auto:
            raise InvalidInputError(
                f"suggestionThreshold must not exceed autoAssignThreshold ({suggest} > {auto})"
            )
        for name, size in (("groupsPerPage", groups_per_page), ("itemsPerGroup", items_per_group)):
            if size is not None:
                check_size(size, MAX_PAGE_SIZE, name)
        settings.auto_assign_threshold = auto
        settings.suggestion_threshold = suggest
        if groups_per_page is not None:
            settings.suggestion_groups_per_page = groups_per_page
        if items_per_group is not None:
            settings.suggestion_items_per_group = items_per_group
        self.faces.session.flush()
        return settings
