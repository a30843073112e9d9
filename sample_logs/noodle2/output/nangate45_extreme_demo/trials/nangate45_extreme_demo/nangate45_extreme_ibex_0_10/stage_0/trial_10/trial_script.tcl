read_db /snapshot/ibex_core.odb
source /work/eco_tie_fanout_repair.tcl
