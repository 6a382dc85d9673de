"""Import every table so metadata (and Alembic) sees the whole schema."""

from image_search.db.base import Base
from image_search.faces.models import Cluster, Face, ModelPackSettings
from image_search.library.models import Asset
from image_search.people.models import Person

__all__ = ["Asset", "Base", "Cluster", "Face", "ModelPackSettings", "Person"]
