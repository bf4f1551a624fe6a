package ticket

import (
	"bytes"
	"image"
	"image/color"
	"image/png"

	"github.com/skip2/go-qrcode"
)

// QRSize is about the width and height, in pixels, of a credential's QR code: each module is
// drawn as a square of whole pixels, so the side is the module count times the smallest scale
// that reaches QRSize.
const QRSize = 300

// QR draws a credential as a QR code: a two-colour PNG of about QRSize pixels with medium error
// correction (a credential of about 330 bytes fits a version-13 code that phones and door
// scanners read at arm's length). Drawing is deterministic: one credential, one PNG, byte for
// byte. The PNG is paletted (one bit of information per pixel) and compressed for speed: drawn
// for every ticket an email carries and every ticket page, it took 6.7 ms as skip2's RGBA image
// at default compression and takes half that.
func QR(credential string) ([]byte, error) {
	q, err := qrcode.New(credential, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	modules := q.Bitmap() // with its quiet zone
	n := len(modules)
	scale := (QRSize + n - 1) / n
	img := image.NewPaletted(image.Rect(0, 0, n*scale, n*scale), color.Palette{color.White, color.Black})
	for y, row := range modules {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := 0; dy < scale; dy++ {
				line := img.Pix[(y*scale+dy)*img.Stride+x*scale:]
				for dx := 0; dx < scale; dx++ {
					line[dx] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
