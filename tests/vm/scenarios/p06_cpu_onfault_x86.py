import _peers as p

SCENARIO = p.worst_scenario("p06_cpu_onfault_x86", "cpu", "onfault")
