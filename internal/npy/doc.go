// Package npy reads and writes NumPy .npy files and .npz archives, with the
// input treated as hostile.
//
// A .npy file is a magic string ("\x93NUMPY"), a format version (1.0, 2.0 or
// 3.0), a header that is a Python dict literal such as
//
//	{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//
// and the raw elements in C order. An .npz is a zip archive of .npy members,
// one per array, as np.savez and np.savez_compressed write it.
//
// Reading:
//
//	a, err := npy.ReadFile("x.npy", npy.DefaultLimits())
//	xs := a.Float32s() // whatever the dtype
//
//	arrays, err := npy.ReadNPZFile("data.npz", npy.DefaultLimits())
//	labels, err := arrays["y"].Int64s()
//
// The header is parsed by a strict parser of exactly that dict shape;
// nothing is evaluated and nothing is unpickled. Object arrays and
// structured dtypes, Fortran-order arrays and dtypes other than bool,
// integers and floats of 2, 4 or 8 bytes (see DType) are rejected with
// ErrUnsupported. Big-endian data are byte-swapped. Before allocating, the
// readers check the header against Limits (elements, header and file bytes,
// archive members) and the data length against the shape, so a short file
// claiming a huge array fails cheaply; archive members are read no further
// than their declared size. Errors wrap ErrFormat, ErrUnsupported or
// ErrLimit and read as one line.
//
// Writing:
//
//	err := npy.WriteFloat32(w, []int{n, 28, 28}, images)
//	err = npy.WriteNPZ(w, map[string]*npy.Array{"x": adv, "y": labels}, nil)
//
// Write produces the bytes np.save would; WriteNPZ produces the same bytes
// for the same arrays every time (fixed member order and timestamps).
package npy
