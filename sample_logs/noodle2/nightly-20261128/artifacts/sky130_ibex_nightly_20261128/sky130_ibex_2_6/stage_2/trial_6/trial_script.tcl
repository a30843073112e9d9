read_db /snapshot/ibex_core.odb
source /work/eco_power_recovery.tcl
