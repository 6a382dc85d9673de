"""Import every table so metadata (and Alembic) sees the whole schema."""

from image_search.db.base import Base
from image_search.faces.models import Cluster, Face, ModelPackSettings
from image_search.jobs.models import Job
from image_search.library.models import Asset
from image_search.people.models import (
    FaceRejection,
    FaceSuggestion,
    Person,
    PersonCentroid,
    PersonPrototype,
    SuggestionGroup,
    SuggestionPersonTotal,
)
from image_search.search.models import ClipEmbedding

__all__ = [
    "Asset",
    "Base",
    "ClipEmbedding",
    "Cluster",
    "Face",
    "FaceRejection",
    "FaceSuggestion",
    "Job",
    "ModelPackSettings",
    "Person",
    "PersonCentroid",
    "PersonPrototype",
    "SuggestionGroup",
    "SuggestionPersonTotal",
]
