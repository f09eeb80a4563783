//! The IDX format of MNIST and Fashion-MNIST (LeCun et al. 1998; Xiao, Rasul & Vollgraf 2017):
//! a big-endian header — magic `0x0000_08_DD` (type 0x08 = unsigned byte, DD = number of
//! dimensions), then each dimension as a u32 — followed by the values in row-major order. An
//! image file is `n × rows × cols` (3 dimensions), a label file `n` (1 dimension). Files may be
//! gzip-compressed, as they are distributed.
//!
//! Pixels are read as they are stored, 0–255 (`data.divide_inputs_by = 255` maps them to
//! [0, 1]); the features are named "0", "1", … like a headerless CSV, so a network trained on the
//! MNIST CSV takes Fashion-MNIST images as they are.

use std::io::Read;
use std::path::Path;

use ndarray::Array2;

use super::{Dataset, TargetValues};
use crate::error::DataError;

/// The type code of unsigned bytes, the only one MNIST-style files use.
const UBYTE: u8 = 0x08;

/// Decompresses gzip bytes (recognised by their magic number); other bytes pass through. Used
/// by every file reader of the data module.
pub(super) fn gunzip<'a>(
    bytes: &'a [u8],
    path: &Path,
) -> Result<std::borrow::Cow<'a, [u8]>, DataError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
            hint: "The file is gzip-compressed but does not decompress (truncated or corrupt?); \
                   obtain it again, see data/README.md"
                .to_string(),
        })?;
    Ok(std::borrow::Cow::Owned(out))
}

fn malformed(path: &Path, message: String) -> DataError {
    DataError::Invalid(format!(
        "{}: {message}; an IDX file (MNIST format) was expected, see data/README.md",
        path.display()
    ))
}

/// The dimensions and the values of an IDX file of unsigned bytes with `dims` dimensions.
fn parse(bytes: &[u8], path: &Path, dims: usize) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    let header = 4 + 4 * dims;
    if bytes.len() < 4 {
        return Err(malformed(
            path,
            format!("{} bytes is shorter than the header", bytes.len()),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 || bytes[2] != UBYTE || bytes[3] as usize != dims {
        return Err(malformed(
            path,
            format!(
                "the magic number is {:02x}{:02x}{:02x}{:02x}, not 000008{dims:02x} (unsigned \
                 bytes in {dims} dimension(s))",
                bytes[0], bytes[1], bytes[2], bytes[3]
            ),
        ));
    }
    if bytes.len() < header {
        return Err(malformed(
            path,
            format!("{} bytes is shorter than the header", bytes.len()),
        ));
    }
    let shape: Vec<usize> = (0..dims)
        .map(|d| {
            let at = 4 + 4 * d;
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize
        })
        .collect();
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if count != Some(bytes.len() - header) {
        return Err(malformed(
            path,
            format!(
                "the header promises {shape:?} values but {} bytes follow it",
                bytes.len() - header
            ),
        ));
    }
    Ok((shape, bytes[header..].to_vec()))
}

/// A classification data set from an IDX image file and its IDX label file (their bytes, plain
/// or gzip; the paths only name them in errors). Refused: a wrong magic number, a size that
/// disagrees with the header, different numbers of images and labels, a single class.
pub fn read_idx(
    images: &[u8],
    images_path: &Path,
    labels: &[u8],
    labels_path: &Path,
) -> Result<Dataset, DataError> {
    let (shape, pixels) = parse(&gunzip(images, images_path)?, images_path, 3)?;
    let (label_shape, label_bytes) = parse(&gunzip(labels, labels_path)?, labels_path, 1)?;
    let (n, d) = (shape[0], shape[1] * shape[2]);
    if label_shape[0] != n {
        return Err(DataError::Invalid(format!(
            "{} holds {n} images but {} holds {} labels; give the label file of the same set",
            images_path.display(),
            labels_path.display(),
            label_shape[0]
        )));
    }
    let n_classes = label_bytes
        .iter()
        .map(|&l| l as usize + 1)
        .max()
        .unwrap_or(0);
    let distinct = {
        let mut seen = vec![false; n_classes];
        label_bytes.iter().for_each(|&l| seen[l as usize] = true);
        seen.iter().filter(|&&s| s).count()
    };
    if distinct < 2 {
        return Err(DataError::Invalid(format!(
            "{}: the labels hold {distinct} class(es); classification needs at least two",
            labels_path.display()
        )));
    }
    let x = Array2::from_shape_vec((n, d), pixels.into_iter().map(f32::from).collect())
        .expect("the header's shape matches the values");
    Ok(Dataset {
        x,
        y: TargetValues::Class {
            labels: label_bytes.iter().map(|&l| u32::from(l)).collect(),
            n_classes,
            names: (0..n_classes).map(|k| k.to_string()).collect(),
        },
        feature_names: (0..d).map(|j| j.to_string()).collect(),
        target_name: "label".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn idx(dims: &[u32], values: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, UBYTE, dims.len() as u8];
        for d in dims {
            out.extend(d.to_be_bytes());
        }
        out.extend(values);
        out
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn reads_images_and_labels_plain_or_gzipped() {
        // Three 2×2 images, labels 2, 0, 2: three classes (class 1 has no example).
        let images = idx(&[3, 2, 2], &[0, 1, 2, 3, 10, 11, 12, 13, 255, 0, 0, 7]);
        let labels = idx(&[3], &[2, 0, 2]);
        let (pi, pl) = (Path::new("img"), Path::new("lab"));
        let plain = read_idx(&images, pi, &labels, pl).unwrap();
        assert_eq!(plain.x.dim(), (3, 4));
        assert_eq!(plain.x.row(2).to_vec(), [255.0, 0.0, 0.0, 7.0]);
        assert_eq!(plain.feature_names, ["0", "1", "2", "3"]);
        let TargetValues::Class {
            labels: l,
            n_classes,
            ..
        } = &plain.y
        else {
            panic!("a classification set")
        };
        assert_eq!((l.as_slice(), *n_classes), ([2, 0, 2].as_slice(), 3));
        let zipped = read_idx(&gz(&images), pi, &gz(&labels), pl).unwrap();
        assert_eq!(zipped.x, plain.x);
    }

    #[test]
    fn damaged_or_mismatched_files_are_refused_with_the_file_named() {
        let images = idx(&[2, 1, 2], &[1, 2, 3, 4]);
        let labels = idx(&[2], &[0, 1]);
        let (pi, pl) = (Path::new("img.idx"), Path::new("lab.idx"));
        let e = read_idx(&images[..10], pi, &labels, pl)
            .unwrap_err()
            .to_string();
        assert!(e.contains("img.idx") && e.contains("shorter"), "{e}");
        let e = read_idx(&images[..images.len() - 1], pi, &labels, pl)
            .unwrap_err()
            .to_string();
        assert!(e.contains("img.idx") && e.contains("promises"), "{e}");
        let e = read_idx(&labels, pi, &labels, pl).unwrap_err().to_string();
        assert!(e.contains("img.idx") && e.contains("magic"), "{e}");
        let e = read_idx(&images, pi, &idx(&[3], &[0, 1, 1]), pl)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 images") && e.contains("3 labels"), "{e}");
        let e = read_idx(&images, pi, &idx(&[2], &[1, 1]), pl)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lab.idx") && e.contains("1 class"), "{e}");
    }
}
