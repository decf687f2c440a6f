import _peers as p

SCENARIO = p.worst_scenario("p06_cpu_keepalive_x86", "cpu", "keepalive")
