read_db /snapshot/ibex_core.odb
source /work/eco_repair_design.tcl
