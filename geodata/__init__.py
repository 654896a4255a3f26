"""Points in, travel matrices and zones out. Knows nothing of jobs."""

from .cache import CachedModel as CachedModel
from .cache import CacheStats as CacheStats
from .cache import cache_dir as cache_dir
from .cache import cached as cached
from .errors import ProviderUnavailable as ProviderUnavailable
from .errors import TravelDataError as TravelDataError
from .osm import OsmRoads as OsmRoads
from .osm import RoadGraph as RoadGraph
from .osm import bundled_extract as bundled_extract
from .osm import load_road_graph as load_road_graph
from .osm import parse_maxspeed as parse_maxspeed
from .osm import road_paths as road_paths
from .osrm import OsrmTable as OsrmTable
from .providers import MatrixTable as MatrixTable
from .providers import travel_model as travel_model
from .travel import UNREACHABLE as UNREACHABLE
from .travel import Haversine as Haversine
from .travel import Matrices as Matrices
from .travel import TravelModel as TravelModel
from .travel import haversine_leg as haversine_leg
from .zones import NO_ZONE as NO_ZONE
from .zones import ZoneSet as ZoneSet
from .zones import partition_points_by_zone as partition_points_by_zone
