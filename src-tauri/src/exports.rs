//! Where exported files go: a new, timestamped file in the user's Downloads folder
//! (the home folder when there is none), never overwriting an existing file.

use std::path::PathBuf;

use penguin_admin::app::{AppError, ErrorCode};
use penguin_admin::audit::ExportFormat;
use serde::Serialize;

/// A file an export wrote, as the UI reports it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ExportedFile {
    /// Absolute path of the new file.
    pub path: String,
    /// Rows written.
    pub rows: u64,
}

/// The user's Downloads folder (the home folder when there is none).
pub fn download_dir() -> Result<PathBuf, AppError> {
    dirs::download_dir()
        .or_else(dirs::home_dir)
        .ok_or_else(|| AppError::new(ErrorCode::Internal, "Found neither a Downloads nor a home folder to export to."))
}

/// A path for a new export file named `{stem}-{local time}.{extension}`.
pub fn new_file_path(stem: &str, format: ExportFormat) -> Result<PathBuf, AppError> {
    let dir = download_dir()?;
    let extension = match format {
        ExportFormat::Csv => "csv",
        ExportFormat::Json => "json",
    };
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let mut path = dir.join(format!("{stem}-{stamp}.{extension}"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{stem}-{stamp}-{n}.{extension}"));
        n += 1;
    }
    Ok(path)
}
