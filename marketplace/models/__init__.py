"""The marketplace's tables, one module per domain; import models from here."""

from .accounts import Role, User
from .api import ApiToken, TokenScope
from .audit import AuditEntry
from .cases import CaseMetric, CaseSide, CaseStatus, TypicalCase
from .chains import ChainLeaderApplication, ChainMembership, LeaderStatus, MembershipStatus
from .changes import Change
from .deals import (
    DealRequest,
    FeedbackKind,
    MatchFeedback,
    Notification,
    Order,
    OrderStatus,
    Quote,
    RequestStatus,
    Review,
)
from .diagnosis import DiagnosisNeed, DiagnosisResult
from .events import (
    EventMeeting,
    EventMode,
    EventRegistration,
    EventStatus,
    MatchEvent,
    Outcome,
)
from .imports import (
    ImportBatch,
    ImportedEnterprise,
    ImportProblem,
    OwnershipRequest,
    OwnershipStatus,
    ProblemKind,
)
from .needs import Need, NeedStatus, Visibility
from .packages import Deployment, Package, PackageCase, PackageStatus, PriceUnit
from .profiles import Enterprise, Provider, ProviderKind, Standing, Tier
from .refdata import Category, Cluster, Industry, Region, ScenarioLevel, SizeClass
from .search_documents import SearchDocument, SearchGeneration, SearchTerm
from .subsidies import (
    ClaimStatus,
    EntryKind,
    IdempotencyKey,
    LedgerEntry,
    ProgramMode,
    ProgramStatus,
    SubsidyClaim,
    SubsidyProgram,
)

__all__ = [
    "ApiToken",
    "AuditEntry",
    "CaseMetric",
    "CaseSide",
    "CaseStatus",
    "ChainLeaderApplication",
    "ChainMembership",
    "Category",
    "ClaimStatus",
    "Change",
    "Cluster",
    "DealRequest",
    "DiagnosisNeed",
    "DiagnosisResult",
    "Deployment",
    "FeedbackKind",
    "MatchFeedback",
    "Notification",
    "Order",
    "OrderStatus",
    "Quote",
    "RequestStatus",
    "Review",
    "Enterprise",
    "EntryKind",
    "EventMeeting",
    "EventMode",
    "EventRegistration",
    "EventStatus",
    "IdempotencyKey",
    "LeaderStatus",
    "LedgerEntry",
    "MatchEvent",
    "MembershipStatus",
    "ImportBatch",
    "ImportedEnterprise",
    "ImportProblem",
    "Industry",
    "Need",
    "NeedStatus",
    "Outcome",
    "Package",
    "PackageCase",
    "PackageStatus",
    "PriceUnit",
    "OwnershipRequest",
    "OwnershipStatus",
    "ProblemKind",
    "ProgramMode",
    "ProgramStatus",
    "Provider",
    "ProviderKind",
    "Region",
    "Role",
    "ScenarioLevel",
    "SearchDocument",
    "SearchGeneration",
    "SearchTerm",
    "SizeClass",
    "Standing",
    "SubsidyClaim",
    "SubsidyProgram",
    "TokenScope",
    "Tier",
    "TypicalCase",
    "User",
    "Visibility",
]
