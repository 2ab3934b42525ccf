//go:build libjpeg && cgo

package datasets

/*
#cgo LDFLAGS: -ljpeg
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

#define ADV_STR2(x) #x
#define ADV_STR(x) ADV_STR2(x)
static const char *adv_jpeg_version(void) {
#ifdef LIBJPEG_TURBO_VERSION
	return "libjpeg-turbo " ADV_STR(LIBJPEG_TURBO_VERSION);
#else
	return "libjpeg " ADV_STR(JPEG_LIB_VERSION);
#endif
}

// A progressive file may hold any number of scans, each a pass over the
// whole coefficient buffer: bound them so a small file cannot cost minutes.
#define ADV_MAX_SCANS 500

// libjpeg's default error handler calls exit(); this one jumps back to the
// decode call, which returns the message to Go. Warnings are ignored as PIL
// ignores them, except the one for data ending early: PIL refuses truncated
// files, and libjpeg would otherwise pad them with gray.
struct adv_err {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX + 32];
};

static void adv_error_exit(j_common_ptr cinfo) {
	struct adv_err *e = (struct adv_err *)cinfo->err;
	(*cinfo->err->format_message)(cinfo, e->msg);
	longjmp(e->jump, 1);
}

static void adv_emit_message(j_common_ptr cinfo, int level) {
	struct adv_err *e = (struct adv_err *)cinfo->err;
	if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
		(*cinfo->err->format_message)(cinfo, e->msg);
		longjmp(e->jump, 1);
	}
}

static void adv_output_message(j_common_ptr cinfo) {}

static void adv_progress(j_common_ptr cinfo) {
	j_decompress_ptr d = (j_decompress_ptr)cinfo;
	if (d->input_scan_number > ADV_MAX_SCANS) {
		struct adv_err *e = (struct adv_err *)cinfo->err;
		snprintf(e->msg, sizeof e->msg, "more than %d scans", ADV_MAX_SCANS);
		longjmp(e->jump, 1);
	}
}

// adv_jpeg_decode reads the header of the JPEG in data and reports its size
// and components; when out is not NULL it also decodes the pixels into out
// (height rows of width*components bytes) with the settings PIL uses:
// RGB output for colour, ISLOW IDCT, fancy upsampling, no scaling.
// It returns 0, or -1 with the message in msg.
static int adv_jpeg_decode(const unsigned char *data, unsigned long size, unsigned char *out, size_t outlen,
		int *width, int *height, int *components, int *colorspace, char *msg, size_t msglen) {
	struct jpeg_decompress_struct cinfo;
	struct adv_err err;
	struct jpeg_progress_mgr progress;
	memset(&cinfo, 0, sizeof cinfo);
	cinfo.err = jpeg_std_error(&err.pub);
	err.pub.error_exit = adv_error_exit;
	err.pub.emit_message = adv_emit_message;
	err.pub.output_message = adv_output_message;
	err.msg[0] = 0;
	if (setjmp(err.jump)) {
		snprintf(msg, msglen, "%s", err.msg);
		jpeg_destroy_decompress(&cinfo);
		return -1;
	}
	jpeg_create_decompress(&cinfo);
	progress.progress_monitor = adv_progress;
	cinfo.progress = &progress;
	jpeg_mem_src(&cinfo, data, size);
	jpeg_read_header(&cinfo, TRUE);
	*width = cinfo.image_width;
	*height = cinfo.image_height;
	*components = cinfo.num_components;
	*colorspace = cinfo.jpeg_color_space;
	if (out == NULL) {
		jpeg_destroy_decompress(&cinfo);
		return 0;
	}
	if (cinfo.num_components == 3) {
		cinfo.out_color_space = JCS_RGB;
	}
	cinfo.dct_method = JDCT_ISLOW;
	cinfo.do_fancy_upsampling = TRUE;
	cinfo.scale_num = 1;
	cinfo.scale_denom = 1;
	jpeg_start_decompress(&cinfo);
	size_t stride = (size_t)cinfo.output_width * cinfo.output_components;
	if ((size_t)cinfo.output_height * stride != outlen) {
		snprintf(msg, msglen, "decodes to %ux%ux%d, not the size its header gave",
			cinfo.output_width, cinfo.output_height, cinfo.output_components);
		jpeg_destroy_decompress(&cinfo);
		return -1;
	}
	while (cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW row = out + (size_t)cinfo.output_scanline * stride;
		jpeg_read_scanlines(&cinfo, &row, 1);
	}
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	return 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"
)

// JPEGDecoder names the JPEG decoder compiled in: the system's libjpeg-turbo,
// with the settings of PIL's Image.open(...).convert("RGB").
var JPEGDecoder = C.GoString(C.adv_jpeg_version()) + " (islow, fancy upsampling)"

// JPEGPILExact is true: PIL (Pillow) decodes JPEGs with this same library and settings.
const JPEGPILExact = true

// decodeJPEG decodes a JPEG of 1 (gray) or 3 (YCbCr or RGB) components into
// an *image.Gray or *image.RGBA, refusing images whose pixel count is over
// maxElements before allocating them.
func decodeJPEG(data []byte, maxElements int64) (image.Image, error) {
	if len(data) == 0 {
		return nil, errors.New("empty file")
	}
	w, h, c, cs, err := libjpeg(data, nil)
	if err != nil {
		return nil, err
	}
	if err := checkJPEG(w, h, c, cs == C.JCS_CMYK || cs == C.JCS_YCCK, maxElements); err != nil {
		return nil, err
	}
	buf := make([]byte, w*h*c)
	if _, _, _, _, err := libjpeg(data, buf); err != nil {
		return nil, err
	}
	r := image.Rect(0, 0, w, h)
	if c == 1 {
		return &image.Gray{Pix: buf, Stride: w, Rect: r}, nil
	}
	img := image.NewRGBA(r)
	for i, j := 0, 0; i < len(buf); i, j = i+3, j+4 {
		img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = buf[i], buf[i+1], buf[i+2], 255
	}
	return img, nil
}

// libjpeg calls the C decoder: the header only when out is nil.
func libjpeg(data []byte, out []byte) (w, h, c, cs int, err error) {
	var cw, ch, cc, ccs C.int
	var msg [256]C.char
	var outp *C.uchar
	if len(out) > 0 {
		outp = (*C.uchar)(unsafe.Pointer(&out[0]))
	}
	rc := C.adv_jpeg_decode((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), outp, C.size_t(len(out)),
		&cw, &ch, &cc, &ccs, &msg[0], C.size_t(len(msg)))
	if rc != 0 {
		return 0, 0, 0, 0, fmt.Errorf("libjpeg: %s", C.GoString(&msg[0]))
	}
	return int(cw), int(ch), int(cc), int(ccs), nil
}
