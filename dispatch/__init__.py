"""The domain: jobs, technicians, couriers, promises and plans.

The only package that knows what an exchange or a promise is. Public surface:
parse a v1 request, plan a day, validate a plan.
"""

from .errors import FieldError as FieldError
from .errors import RequestError as RequestError
from .model import DispatchProblem as DispatchProblem
from .model import parse_request as parse_request
from .planner import PlanOutcome as PlanOutcome
from .planner import plan_day as plan_day
from .reasons import REASONS as REASONS
from .reasons import Unassigned as Unassigned
from .validator import Violation as Violation
from .validator import validate_plan as validate_plan
