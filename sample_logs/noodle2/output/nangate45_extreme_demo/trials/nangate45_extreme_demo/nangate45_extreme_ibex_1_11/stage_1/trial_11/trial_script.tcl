read_db /snapshot/ibex_core.odb
source /work/eco_clock_net_repair.tcl
