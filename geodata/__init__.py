"""Points in, travel matrices and zones out. Knows nothing of jobs."""

from .errors import ProviderUnavailable as ProviderUnavailable
from .errors import TravelDataError as TravelDataError
from .travel import UNREACHABLE as UNREACHABLE
from .travel import Haversine as Haversine
from .travel import Matrices as Matrices
from .travel import TravelModel as TravelModel
from .travel import haversine_leg as haversine_leg
