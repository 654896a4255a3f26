"""Generic vehicle routing: an immutable problem in, routes with times out.

Knows nothing of jobs, brands or couriers. Only ``_ortools`` imports OR-Tools.
"""

from .errors import InvalidProblem as InvalidProblem
from .errors import SolverError as SolverError
from .problem import Break as Break
from .problem import Group as Group
from .problem import Node as Node
from .problem import Precedence as Precedence
from .problem import RoutingProblem as RoutingProblem
from .problem import Vehicle as Vehicle
from .result import BreakTaken as BreakTaken
from .result import RoutingResult as RoutingResult
from .result import SolveStats as SolveStats
from .result import VehicleRoute as VehicleRoute
from .result import Visit as Visit
from .settings import DEFAULT_PRESET as DEFAULT_PRESET
from .settings import PRESETS as PRESETS
from .settings import SolverSettings as SolverSettings
from .solve import solve as solve
from .timing import earliest_schedule as earliest_schedule
