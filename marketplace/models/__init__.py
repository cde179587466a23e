"""The marketplace's tables, one module per domain; import models from here."""

from .accounts import Role, User
from .audit import AuditEntry
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
from .needs import Need, NeedStatus, Visibility
from .packages import Deployment, Package, PackageCase, PackageStatus, PriceUnit
from .profiles import Enterprise, Provider, ProviderKind, Standing, Tier
from .refdata import Category, Cluster, Industry, Region, ScenarioLevel, SizeClass

__all__ = [
    "AuditEntry",
    "Category",
    "Change",
    "Cluster",
    "DealRequest",
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
    "Industry",
    "Need",
    "NeedStatus",
    "Package",
    "PackageCase",
    "PackageStatus",
    "PriceUnit",
    "Provider",
    "ProviderKind",
    "Region",
    "Role",
    "ScenarioLevel",
    "SizeClass",
    "Standing",
    "Tier",
    "User",
    "Visibility",
]
