read_db /snapshot/ibex_core.odb
source /work/eco_sequential_repair.tcl
