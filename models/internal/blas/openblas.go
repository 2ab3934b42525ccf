//go:build openblas && cgo

package blas

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>

// Declared by OpenBLAS's cblas.h on most systems; repeated here for older headers.
void openblas_set_num_threads(int num_threads);
char* openblas_get_config(void);
*/
import "C"

import (
	"strings"
	"unsafe"
)

func init() {
	// The engine parallelises over samples; OpenBLAS must not add threads.
	C.openblas_set_num_threads(1)
}

func ctrans(t bool) C.enum_CBLAS_TRANSPOSE {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

// checkLen guards cgo calls: a short slice would be read out of bounds in C.
func checkLen(name string, have, rows, cols, ld int) {
	if rows > 0 && cols > 0 && have < (rows-1)*ld+cols {
		panic("blas: " + name + " is too short")
	}
}

func sgemm(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ar, ac := m, k
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	checkLen("a", len(a), ar, ac, lda)
	checkLen("b", len(b), br, bc, ldb)
	checkLen("c", len(c), m, n, ldc)
	C.cblas_sgemm(C.CblasRowMajor, ctrans(ta), ctrans(tb), C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

func dgemm(ta, tb bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	ar, ac := m, k
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	checkLen("a", len(a), ar, ac, lda)
	checkLen("b", len(b), br, bc, ldb)
	checkLen("c", len(c), m, n, ldc)
	C.cblas_dgemm(C.CblasRowMajor, ctrans(ta), ctrans(tb), C.blasint(m), C.blasint(n), C.blasint(k),
		C.double(alpha), (*C.double)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.double)(unsafe.Pointer(&b[0])), C.blasint(ldb),
		C.double(beta), (*C.double)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

func backend() string {
	return "openblas " + strings.TrimSpace(strings.TrimPrefix(C.GoString(C.openblas_get_config()), "OpenBLAS"))
}
