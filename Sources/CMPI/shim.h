// CMPI: the C interface of OpenMPI, as seen from Swift.
//
// MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros that expand
// to casts of global addresses, which Swift cannot import. Each one elman-dist
// uses is wrapped here in a static inline getter that keeps its C spelling.
// Not API of elman-dist; only ElmanDistributed imports it.
#ifndef ELMAN_CMPI_SHIM_H
#define ELMAN_CMPI_SHIM_H
#include <mpi.h>

#define CMPI_GETTER(type, name) \
    __attribute__((swift_name("getter:" #name "()"))) \
    static inline type cmpi_##name(void) { return name; }

CMPI_GETTER(MPI_Comm, MPI_COMM_WORLD)
CMPI_GETTER(MPI_Datatype, MPI_FLOAT)
CMPI_GETTER(MPI_Datatype, MPI_DOUBLE)
CMPI_GETTER(MPI_Datatype, MPI_UINT64_T)
CMPI_GETTER(MPI_Datatype, MPI_BYTE)
CMPI_GETTER(MPI_Op, MPI_SUM)
CMPI_GETTER(MPI_Op, MPI_MAX)
CMPI_GETTER(MPI_Errhandler, MPI_ERRORS_RETURN)
CMPI_GETTER(MPI_Info, MPI_INFO_NULL)

/// MPI_IN_PLACE: the "send buffer is the receive buffer" marker.
__attribute__((swift_name("getter:MPI_IN_PLACE()")))
static inline void *cmpi_MPI_IN_PLACE(void) { return MPI_IN_PLACE; }

#undef CMPI_GETTER
#endif
