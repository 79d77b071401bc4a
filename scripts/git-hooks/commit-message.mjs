/**
 * The commit message rule (shared/STYLE.md "Words"; the Linux kernel's and git's
 * SubmittingPatches): a summary line of at most 72 characters that says what changed, a blank
 * line, then a body that says why and how it was checked.
 */
export const SUMMARY_MAX = 72;
/** Body lines are wrapped; a longer line is allowed only for something that cannot wrap (a URL, a command). */
export const BODY_LINE_MAX = 100;

/** The problems of one commit message (empty when it follows the rule). Comment lines (#) are ignored, as git does. */
export function commitMessageProblems(message) {
  const lines = message
    .replace(/\r\n/g, "\n")
    .split("\n")
    .filter((line) => !line.startsWith("#"));
  while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
  const problems = [];
  const summary = lines[0] ?? "";
  if (summary.trim() === "") return ["the summary line is empty"];
  // Merge and revert commits git writes itself keep git's own summaries.
  if (/^(Merge|Revert) /.test(summary)) return [];
  if (summary.length > SUMMARY_MAX)
    problems.push(`the summary line has ${summary.length} characters; at most ${SUMMARY_MAX}`);
  if (summary.endsWith(".")) problems.push("the summary line ends with a full stop");
  if (lines.length < 3 || lines.slice(2).every((line) => line.trim() === "")) {
    problems.push("there is no body: after the summary, a blank line, then why and how it was checked");
  } else if (lines[1].trim() !== "") {
    problems.push("the second line is not blank: the summary is one line, then a blank line, then the body");
  }
  lines.slice(2).forEach((line, i) => {
    if (line.length > BODY_LINE_MAX && /\s/.test(line.trim()) && !/https?:\/\//.test(line))
      problems.push(
        `body line ${i + 3} has ${line.length} characters; wrap at about 72 (at most ${BODY_LINE_MAX})`,
      );
  });
  return problems;
}
