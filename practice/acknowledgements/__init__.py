"""A person's "I've read this" for a brief, with their answer to "How will this change
your practice?"."""
