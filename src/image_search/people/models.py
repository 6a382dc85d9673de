"""Tables of the people domain: persons, their prototypes and centroids, suggestions and
rejected face-person pairs."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from image_search.db.base import Base, TimestampMixin, utcnow


class Person(Base, TimestampMixin):
    """A named identity. Faces point at it through ``faces.person_id``."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The full name, hierarchical with "/" (for example "Family/Smith/Anna").
    name: Mapped[str] = mapped_column(String(255), index=True)
    # Shown instead of the name's last part when set (for example "Granny Anna").
    display_name: Mapped[str | None] = mapped_column(String(255))
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    birth_date: Mapped[date | None] = mapped_column(Date)
    cover_face_id: Mapped[int | None] = mapped_column(
        ForeignKey("faces.id", ondelete="SET NULL", use_alter=True)
    )


class PrototypeRole(StrEnum):
    AUTO = "auto"  # chosen by quality and diversity, replaced when the person's faces change
    PINNED = "pinned"  # chosen by a user, kept until unpinned or the face leaves the person


class PersonPrototype(Base):
    """A face chosen to represent a person when unassigned faces are matched."""

    __tablename__ = "person_prototypes"
    __table_args__ = (
        Index("ix_person_prototypes_person_face", "person_id", "face_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    face_id: Mapped[int] = mapped_column(ForeignKey("faces.id", ondelete="CASCADE"), index=True)
    model_pack: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PersonCentroid(Base):
    """Mean of a person's L2-normalised embeddings of one pack, normalised again."""

    __tablename__ = "person_centroids"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    model_pack: Mapped[str] = mapped_column(String(32), primary_key=True)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # float32 little-endian
    face_count: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class SuggestionStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"  # the face was assigned some other way, or left the library


class FaceSuggestion(Base):
    """A proposal that a face shows a person, with the scores that led to it.

    ``confidence`` is the best cosine similarity to one of the person's prototypes;
    ``matching_prototype_ids`` are the face ids of every prototype at or above the threshold,
    ``prototype_scores`` maps them (as strings) to their similarity, ``aggregate_confidence`` is
    the mean of those scores and ``prototype_match_count`` their number.
    """

    __tablename__ = "face_suggestions"
    __table_args__ = (
        Index("ix_face_suggestions_face_person_status", "face_id", "suggested_person_id", "status"),
        Index(
            "ix_face_suggestions_person_status_confidence",
            "suggested_person_id",
            "status",
            "confidence",
        ),
        Index("ix_face_suggestions_status_created", "status", "created_at"),
        # At most one pending suggestion per face and person.
        Index(
            "uq_face_suggestions_pending",
            "face_id",
            "suggested_person_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    face_id: Mapped[int] = mapped_column(ForeignKey("faces.id", ondelete="CASCADE"))
    suggested_person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    confidence: Mapped[float] = mapped_column(Float)
    source_face_id: Mapped[int | None] = mapped_column(
        ForeignKey("faces.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=SuggestionStatus.PENDING)
    source: Mapped[str] = mapped_column(String(32))  # assignment, find_more, find_more_centroid
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    matching_prototype_ids: Mapped[list[int] | None] = mapped_column(JSON)
    prototype_scores: Mapped[dict[str, float] | None] = mapped_column(JSON)
    aggregate_confidence: Mapped[float | None] = mapped_column(Float)
    prototype_match_count: Mapped[int | None] = mapped_column(Integer)


class SuggestionGroup(Base):
    """Per person and status: how many suggestions and the best confidence.

    Maintained by database triggers on ``face_suggestions`` (migration 0002), so the grouped
    suggestions page never aggregates a million rows per request. The index covers the page's
    queries for one status (no table lookups): its persons by best confidence, then id.
    """

    __tablename__ = "suggestion_groups"
    __table_args__ = (
        Index(
            "ix_suggestion_groups_status_max",
            "status",
            "max_confidence",
            "person_id",
            "suggestion_count",
        ),
    )

    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    suggestion_count: Mapped[int] = mapped_column(Integer)
    max_confidence: Mapped[float | None] = mapped_column(Float)


class SuggestionPersonTotal(Base):
    """Per person, every status together: how many suggestions and the best confidence.

    Kept by the same triggers as ``suggestion_groups`` (from its rows), for the grouped page
    without a status filter; the index covers that page's queries like the one above.
    """

    __tablename__ = "suggestion_person_totals"
    __table_args__ = (
        Index(
            "ix_suggestion_person_totals_max",
            "max_confidence",
            "person_id",
            "suggestion_count",
        ),
    )

    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    suggestion_count: Mapped[int] = mapped_column(Integer)
    max_confidence: Mapped[float | None] = mapped_column(Float)


class FaceRejection(Base):
    """ "Not this person": the face is never suggested for or auto-assigned to the person again."""

    __tablename__ = "face_rejections"

    face_id: Mapped[int] = mapped_column(
        ForeignKey("faces.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
