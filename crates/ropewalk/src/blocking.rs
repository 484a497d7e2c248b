//! The one-call fetch for code without an async runtime.
//!
//! ```no_run
//! let page = ropewalk::blocking::get("http://127.0.0.1:8080/hello?lang=en").unwrap();
//! assert_eq!(page.status, 200);
//! print!("{}", page.text());
//! ```

use crate::client::{Error, FullResponse};

/// GET `url` and read the whole response, on a runtime of its own (see
/// [`crate::get`]). Fails, rather than blocking a runtime thread, when
/// called from inside a tokio runtime: use the async [`crate::get`] there.
pub fn get(url: &str) -> Result<FullResponse, Error> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::Request(
            "ropewalk::blocking::get called inside an async runtime; use ropewalk::get".into(),
        ));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Request(format!("cannot start a runtime: {e}")))?;
    rt.block_on(crate::get(url))
}
