//! Reading the function names an answer calls: the one place where answer
//! text is parsed.

/// The names of the functions `answer` calls, in order, or why it does not
/// parse as calls.
pub(crate) fn called_functions(answer: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for (i, line) in answer
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let line = line.trim();
        let open = line
            .find('(')
            .ok_or_else(|| format!("line {} has no call", i + 1))?;
        let name = &line[..open];
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.');
        if !valid_name || !line.ends_with(')') {
            return Err(format!("line {} is not `name(args)`", i + 1));
        }
        names.push(name.to_owned());
    }
    if names.is_empty() {
        return Err("no call found".into());
    }
    Ok(names)
}
