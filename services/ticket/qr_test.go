package ticket

import (
	"bytes"
	"image/png"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// A credential's QR code reads back as the credential with an independent QR reader (ZXing's Go
// port), at about QRSize pixels, and drawing it twice gives the same bytes.
func TestAQRCodeReadsBackAsItsCredential(t *testing.T) {
	credential := "eyJhbGciOiJFZERTQSIsImtpZCI6Ims" + strings.Repeat("x9_-AbC", 40) + ".sig"
	raw, err := QR(credential)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if w := img.Bounds().Dx(); w < QRSize || w > QRSize+100 {
		t.Fatalf("QR code %d pixels wide, want about %d", w, QRSize)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil || res.GetText() != credential {
		t.Fatalf("read back %v (%v), want the credential", res, err)
	}
	again, _ := QR(credential)
	if !bytes.Equal(raw, again) {
		t.Fatal("two drawings of one credential differ")
	}
}
