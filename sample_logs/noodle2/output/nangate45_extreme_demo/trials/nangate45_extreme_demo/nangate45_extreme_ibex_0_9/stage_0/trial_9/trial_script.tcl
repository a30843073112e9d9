read_db /snapshot/ibex_core.odb
source /work/eco_dead_logic_elimination.tcl
