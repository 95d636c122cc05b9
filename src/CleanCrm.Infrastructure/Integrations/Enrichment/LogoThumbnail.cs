using System.Security.Cryptography;
using SkiaSharp;

namespace CleanCrm.Infrastructure.Integrations.Enrichment;

/// <summary>A decoded, resized logo: PNG bytes and their hex SHA-256 (the ETag).</summary>
public sealed record Thumbnail(byte[] Png, string Hash, int Width, int Height);

/// <summary>Turns a fetched image (PNG, JPEG, GIF, WebP, ICO, BMP) into a PNG of at most <c>size</c> px on its longer side.</summary>
public static class LogoThumbnail
{
    /// <summary>The thumbnail, or null with the reason (<c>not_an_image</c>, <c>image_too_large</c>).</summary>
    public static (Thumbnail? Thumbnail, string? Failure) Create(byte[] image, int size, int maxSourcePixels)
    {
        using var data = SKData.CreateCopy(image);
        using var codec = SKCodec.Create(data);
        if (codec is null)
        {
            return (null, "not_an_image");
        }

        var info = codec.Info;
        if (info.Width <= 0 || info.Height <= 0)
        {
            return (null, "not_an_image");
        }

        // Checked on the header, before a single pixel is allocated.
        if (info.Width > maxSourcePixels || info.Height > maxSourcePixels)
        {
            return (null, "image_too_large");
        }

        using var decoded = SKBitmap.Decode(codec, info.WithColorType(SKColorType.Rgba8888).WithAlphaType(SKAlphaType.Premul));
        if (decoded is null)
        {
            return (null, "not_an_image");
        }

        var scale = Math.Min(1d, (double)size / Math.Max(info.Width, info.Height));
        var width = Math.Max(1, (int)Math.Round(info.Width * scale));
        var height = Math.Max(1, (int)Math.Round(info.Height * scale));
        using var resized = width == info.Width && height == info.Height
            ? decoded.Copy()
            : decoded.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul),
                new SKSamplingOptions(SKCubicResampler.Mitchell));
        if (resized is null)
        {
            return (null, "not_an_image");
        }

        using var encoded = resized.Encode(SKEncodedImageFormat.Png, 100);
        if (encoded is null)
        {
            return (null, "not_an_image");
        }

        var png = encoded.ToArray();
        return (new Thumbnail(png, Convert.ToHexStringLower(SHA256.HashData(png)), width, height), null);
    }
}
