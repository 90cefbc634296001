//! TEMPORARY until the help builder lands from the commands branch.
use super::reply::Reply;
pub fn help_reply(_c: Option<&str>) -> Result<Reply, String> {
    Ok(Reply::new("help"))
}
