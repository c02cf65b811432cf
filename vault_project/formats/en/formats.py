# The console shows every moment to the second, with its time zone: an audit trail is read against
# logs and other systems' clocks, and "Dec. 3, 2026, 11:42 p.m." matches neither.
DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s T"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
